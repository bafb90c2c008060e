"""Evaluation of the three systems on a CAIL2018 file: the TF-IDF baseline, the classifier and the full pipeline.

Every system is scored with the CAIL2018 metrics of `scoring.py`. The baseline and the classifier predict
charges only, so their term and fine scores are None; so does "blend", the classifier's probabilities mixed with
the baseline's (at `legal_baseline_weight`, or 0.5 when that picks one model alone). The pipeline (classifier, precedents, LLM sentencing)
is slow on a CPU, so it may run on the first `pipeline_limit` cases of a round-robin order over charges; the
baseline and the classifier are then also scored on exactly those cases, for a like-for-like comparison.
For the same cases the "precedent median" reference is scored too: the median term and fine of the
precedents the pipeline retrieved, without the LLM. "term_estimate" is the statistical prison-term estimate
alone (`term_estimate.py`) with the baseline's charges, on every case.

The classifier is also checked against training: when its metrics.json holds validation case ids from the
same file, the classifier is scored on exactly those cases and compared with what training measured.
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from core.settings import Settings
from core.types import Verdict
from models.legal.data import Case, load_cases
from models.legal.labels import select_charges
from models.legal.scoring import Sentence, charge_scores, fine_correct, term_score

SYSTEMS = ("baseline", "classifier", "pipeline")  # plus "blend" (what the pipeline classifies with)
REPRODUCTION_TOLERANCE = 1e-6
BLEND_REPORTED = 0.5


@dataclass
class SystemScores:
    accuracy: float
    micro_f1: float
    macro_f1: float
    term_score: float | None
    fine_accuracy: float | None
    n: int
    seconds: float = 0.0
    per_label_f1: dict[str, float] = field(default_factory=dict)

    def public(self) -> dict:
        """The fields of report.json."""
        return {k: getattr(self, k) for k in ("accuracy", "micro_f1", "macro_f1", "term_score", "fine_accuracy", "n")}


@dataclass
class Evaluation:
    data: Path
    cases: list[Case]
    systems: dict[str, SystemScores] = field(default_factory=dict)
    predictions: dict[str, list[list[str]]] = field(default_factory=dict)  # primary-first charge lists
    pipeline_cases: list[Case] = field(default_factory=list)
    on_pipeline_cases: dict[str, SystemScores] = field(default_factory=dict)
    verdicts: list[Verdict] = field(default_factory=list)
    reproduction: dict | None = None


def score(predicted: Sequence[Sequence[str]], cases: Sequence[Case], sentences: Sequence[Sentence | None] | None = None,
          fines: Sequence[float | None] | None = None, seconds: float = 0.0) -> SystemScores:
    charges = charge_scores(predicted, [c.charges for c in cases])
    term = fine = None
    if sentences is not None:
        golds = [Sentence(c.prison_months, c.life, c.death) for c in cases]
        term = statistics.fmean(term_score(p, g) if p is not None else 0.0 for p, g in zip(sentences, golds, strict=True))
    if fines is not None:
        fine = statistics.fmean(f is not None and fine_correct(f, c.fine) for f, c in zip(fines, cases, strict=True))
    return SystemScores(charges.accuracy, charges.micro_f1, charges.macro_f1, term, fine, len(cases), round(seconds, 1),
                        charges.per_label_f1)


def verdict_sentence(v: Verdict) -> Sentence | None:
    if not v.identified or (v.prison_months is None and not v.life_imprisonment and not v.death_penalty):
        return None
    return Sentence(v.prison_months or 0.0, bool(v.life_imprisonment), bool(v.death_penalty))


def precedent_median(v: Verdict) -> tuple[Sentence | None, float | None]:
    """The median sentence of the retrieved precedents: the no-LLM reference."""
    if not v.identified or not v.precedents:
        return None, None
    ps = v.precedents
    death = sum(p.death for p in ps) > len(ps) / 2
    life = not death and sum(p.life for p in ps) > len(ps) / 2
    return (Sentence(statistics.median(p.prison_months for p in ps), life, death),
            statistics.median(p.fine for p in ps))


def evaluate(data: Path, settings: Settings, systems: Sequence[str] = SYSTEMS, limit: int | None = None,
             pipeline_limit: int | None = None, log: Callable[[str], None] = print) -> Evaluation:
    from models.legal.data import round_robin
    from models.legal.pipeline import load_baseline, load_classifier, mix_probabilities, predict

    loaded = load_cases(data, limit=limit)
    log(loaded.summary())
    result = Evaluation(data, loaded.cases)
    facts = [c.fact for c in result.cases]
    if pipeline_limit and pipeline_limit < len(result.cases):
        result.pipeline_cases = round_robin(result.cases, seed=0)[:pipeline_limit]
    else:
        result.pipeline_cases = list(result.cases)
    pipeline_rows = [result.cases.index(c) for c in result.pipeline_cases]

    probabilities: dict[str, np.ndarray] = {}
    for name in ("baseline", "classifier"):
        if name not in systems:
            continue
        started = time.perf_counter()
        if name == "baseline":
            model = load_baseline(settings)
            probabilities[name] = model.predict_proba(facts)
        else:
            model = load_classifier(settings)
            probabilities[name] = model.predict_proba(facts, batch_size=settings.legal_batch_size)
        _add_charge_system(result, name, probabilities[name], model.labels.names, time.perf_counter() - started,
                           pipeline_rows, log)
    if len(probabilities) == 2:
        # The mix of pipeline.LegalModels.charge_probabilities; at 0.5 when the setting picks one model alone.
        w = settings.legal_baseline_weight if 0 < settings.legal_baseline_weight < 1 else BLEND_REPORTED
        blended = mix_probabilities(probabilities["classifier"], probabilities["baseline"], w)
        _add_charge_system(result, "blend", blended, model.labels.names, 0.0, pipeline_rows, log)
    if "classifier" in result.predictions:
        result.reproduction = _reproduction(settings, result)
    if "baseline" in result.predictions:
        _add_term_estimate(result, settings, pipeline_rows, log)

    if "pipeline" in systems:
        started = time.perf_counter()
        for n, case in enumerate(result.pipeline_cases, start=1):
            result.verdicts.append(predict(case.fact, settings))
            log(f"pipeline {n}/{len(result.pipeline_cases)}: {result.verdicts[-1].charges} "
                f"{result.verdicts[-1].prison_months} months (gold {list(case.charges)} {case.prison_months})")
        seconds = time.perf_counter() - started
        verdicts = result.verdicts
        result.systems["pipeline"] = score([v.charges for v in verdicts], result.pipeline_cases,
                                           [verdict_sentence(v) for v in verdicts], [v.fine for v in verdicts], seconds)
        result.on_pipeline_cases["pipeline"] = result.systems["pipeline"]
        medians = [precedent_median(v) for v in verdicts]
        result.on_pipeline_cases["precedent_median"] = score(
            [v.charges for v in verdicts], result.pipeline_cases, [m[0] for m in medians], [m[1] for m in medians])
        log(f"pipeline: {_line(result.systems['pipeline'])}")
    return result


def _add_charge_system(result: Evaluation, name: str, probs: np.ndarray, names: Sequence[str], seconds: float,
                       pipeline_rows: list[int], log: Callable[[str], None]) -> None:
    predicted = [[names[i] for i in select_charges(p)] for p in probs]
    result.predictions[name] = predicted
    result.systems[name] = score(predicted, result.cases, seconds=seconds)
    result.on_pipeline_cases[name] = score([predicted[i] for i in pipeline_rows], result.pipeline_cases)
    log(f"{name}: {_line(result.systems[name])}")


def _add_term_estimate(result: Evaluation, settings: Settings, pipeline_rows: list[int],
                       log: Callable[[str], None]) -> None:
    """The statistical term estimate alone, given the baseline's charges (no precedents, no LLM)."""
    from models.legal.pipeline import load_term_estimator

    estimator = load_term_estimator(settings)
    if estimator is None:
        return
    started = time.perf_counter()
    charges = result.predictions["baseline"]
    months = estimator.predict_months([c.fact for c in result.cases], charges)
    sentences = [Sentence(float(m)) for m in months]
    result.systems["term_estimate"] = score(charges, result.cases, sentences, seconds=time.perf_counter() - started)
    result.on_pipeline_cases["term_estimate"] = score([charges[i] for i in pipeline_rows], result.pipeline_cases,
                                                      [sentences[i] for i in pipeline_rows])
    log(f"term_estimate: {_line(result.systems['term_estimate'])}")


def _line(s: SystemScores) -> str:
    text = f"accuracy {s.accuracy:.3f}, micro-F1 {s.micro_f1:.3f}, macro-F1 {s.macro_f1:.3f}"
    if s.term_score is not None:
        text += f", term score {s.term_score:.3f}"
    if s.fine_accuracy is not None:
        text += f", fine accuracy {s.fine_accuracy:.3f}"
    return f"{text} (n={s.n}, {s.seconds:.0f} s)"


def _reproduction(settings: Settings, result: Evaluation) -> dict | None:
    """Training's validation metrics against the saved classifier's, on the same cases."""
    from models.legal import classifier_dir
    from models.legal.train import METRICS_FILE

    path = classifier_dir(settings) / METRICS_FILE
    if not path.is_file():
        return None
    recorded = json.loads(path.read_text(encoding="utf-8")).get("validation")
    if not recorded or Path(recorded["file"]).resolve() != result.data.resolve():
        return None
    rows = {c.id: i for i, c in enumerate(result.cases)}
    if not all(i in rows for i in recorded["case_ids"]):
        return None
    ids = [rows[i] for i in recorded["case_ids"]]
    now = score([result.predictions["classifier"][i] for i in ids], [result.cases[i] for i in ids])
    keys = ("accuracy", "micro_f1", "macro_f1")
    same = all(abs(getattr(now, k) - recorded[k]) <= REPRODUCTION_TOLERANCE for k in keys)
    return {"n": len(ids), "reproduced": same, "training": {k: recorded[k] for k in keys},
            "saved_model": {k: getattr(now, k) for k in keys}}
