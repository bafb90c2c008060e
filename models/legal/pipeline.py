"""`predict(fact) -> Verdict`: the legal tool end to end, as the CLI, the REST API and the agents call it.

1. Check the input: an empty fact or one that is not Chinese text gets "no charge identified" at once; a very
   long fact is cut to `MAX_FACT_CHARS` (noted in the verdict).
2. The charge probabilities are the classifier's mixed with the TF-IDF baseline's, weight
   `legal_baseline_weight` on the baseline. The default (1.0) takes them from the baseline alone: a classifier
   trained within a CPU budget has seen a few hundred cases, the baseline all of them, and mixing the two at 0.5
   lowered the pipeline's charge accuracy from 0.65 to 0.35 (docs/eval/legal). Set 0 for a classifier trained
   on a GPU. The multi-label rule of `labels.py` picks the charges.
3. The precedent base returns the top-k similar cases carrying those charges (all charges when too few do),
   each at least `legal_min_similarity` similar.
4. No charge is identified when the classifier's top probability is below `legal_min_confidence` or no
   precedent is similar enough: then the verdict carries no numbers, as numbers only ever come from precedents.
5. Otherwise the LLM sentences from the fact and the precedents (`sentencing.py`). The verdict's charges are the
   classifier's when the LLM's voted charge is among them; otherwise the voted charge (one of the precedents')
   replaces the classifier's primary charge. The verdict cites the precedents it used and carries the
   top charge's probability with the model it came from (`confidence_source`: with the default weight
   the TF-IDF baseline's probability, and the LoRA classifier is never loaded).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from core.settings import Settings, get_settings
from core.types import ChargeProbability, Verdict
from models.legal.baseline import TfidfBaseline
from models.legal.classifier import LegalClassifier
from models.legal.labels import CONFIDENCE_LABELS, LabelSet, select_charges
from models.legal.precedents import PrecedentBase, embed
from models.legal.term_estimate import TermEstimator

MAX_FACT_CHARS = 20_000
MIN_CHINESE_SHARE = 0.3  # of the non-space characters
CANDIDATES_SHOWN = 5
_CJK = re.compile(r"[\u4e00-\u9fff]")


def charge_model(baseline_weight: float) -> str:
    """Which model the charge probabilities come from at this `legal_baseline_weight`."""
    return "baseline" if baseline_weight >= 1 else "classifier" if baseline_weight <= 0 else "blend"


def mix_probabilities(classifier: np.ndarray, baseline: np.ndarray, baseline_weight: float) -> np.ndarray:
    """The pipeline's charge probabilities: the classifier's and the baseline's, mixed linearly."""
    return (1 - baseline_weight) * classifier + baseline_weight * baseline


@dataclass
class LegalModels:
    classifier: LegalClassifier | None  # None when the mix gives it no weight
    precedents: PrecedentBase
    baseline: TfidfBaseline | None  # None when the mix gives it no weight
    term: TermEstimator | None = None  # None when none was trained (an older `argus legal train`)

    @property
    def labels(self) -> LabelSet:
        return (self.classifier or self.baseline).labels

    def charge_probabilities(self, facts: list[str], baseline_weight: float, batch_size: int = 1) -> np.ndarray:
        """(n, labels) probabilities: the classifier's, mixed linearly with the baseline's."""
        if self.baseline is None or baseline_weight <= 0:
            return self.classifier.predict_proba(facts, batch_size=batch_size)
        if baseline_weight >= 1:
            return self.baseline.predict_proba(facts)
        if self.baseline.labels != self.classifier.labels:
            raise RuntimeError("the baseline and the classifier were trained on different label sets; "
                               "retrain both with `argus legal train`")
        probs = self.classifier.predict_proba(facts, batch_size=batch_size)
        return mix_probabilities(probs, self.baseline.predict_proba(facts), baseline_weight)


_loaded: dict[tuple, LegalModels] = {}
_classifiers: dict[tuple, LegalClassifier] = {}


def load_classifier(settings: Settings) -> LegalClassifier:
    """The trained classifier, loaded once per process and settings."""
    from models.legal import classifier_dir

    key = (str(classifier_dir(settings)), settings.legal_attn_implementation, settings.legal_base_model)
    if key not in _classifiers:
        _classifiers[key] = LegalClassifier.load(classifier_dir(settings), settings.legal_attn_implementation,
                                                 base_model=settings.legal_base_model)
    return _classifiers[key]


def load_models(settings: Settings) -> LegalModels:
    """What `predict` needs, loaded once per process and settings: the precedent base, and the classifier and
    the baseline where the mix gives them weight."""
    from models.legal import classifier_dir, precedents_dir

    weight = settings.legal_baseline_weight
    key = (str(classifier_dir(settings)), str(precedents_dir(settings)), settings.legal_attn_implementation,
           settings.legal_base_model, weight > 0, weight < 1)
    if key not in _loaded:
        classifier = load_classifier(settings) if weight < 1 else None
        baseline = load_baseline(settings) if weight > 0 else None
        _loaded[key] = LegalModels(classifier, PrecedentBase.open(precedents_dir(settings)), baseline,
                                   load_term_estimator(settings))
    return _loaded[key]


def load_baseline(settings: Settings) -> TfidfBaseline:
    from models.legal import baseline_dir

    return TfidfBaseline.load(baseline_dir(settings))


def load_term_estimator(settings: Settings) -> TermEstimator | None:
    from models.legal import baseline_dir

    try:
        return TermEstimator.load(baseline_dir(settings))
    except FileNotFoundError:
        return None


def chinese_share(text: str) -> float:
    visible = [c for c in text if not c.isspace()]
    return sum(1 for c in visible if _CJK.match(c)) / len(visible) if visible else 0.0


def predict(fact: str, settings: Settings | None = None) -> Verdict:
    """Charges and sentence for one Chinese case description (see the module docstring)."""
    settings = settings or get_settings()
    fact = (fact or "").strip()
    if not fact:
        return Verdict(identified=False, confidence=0.0, notes=["the fact is empty: no charge identified"])
    if chinese_share(fact) < MIN_CHINESE_SHARE:
        return Verdict(identified=False, confidence=0.0,
                       notes=["the fact is not Chinese text (the tool reads Chinese case descriptions): "
                              "no charge identified"])
    notes = []
    if len(fact) > MAX_FACT_CHARS:
        notes.append(f"the fact was cut from {len(fact)} to {MAX_FACT_CHARS} characters")
        fact = fact[:MAX_FACT_CHARS]

    models = load_models(settings)
    probs = models.charge_probabilities([fact], settings.legal_baseline_weight)[0]
    names = models.labels.names
    chosen = [names[i] for i in select_charges(probs)]
    confidence = float(probs.max())
    source = charge_model(settings.legal_baseline_weight)
    top = probs.argsort()[::-1][:CANDIDATES_SHOWN]
    candidates = [ChargeProbability(charge=names[i], probability=float(probs[i])) for i in top]

    found = models.precedents.search(embed(settings, [fact], query=True)[0], chosen, settings.legal_precedents,
                                     settings.legal_min_similarity, settings.legal_min_filtered)
    if found.precedents and not found.filtered:
        notes.append("too few precedents with the predicted charges: precedents of any charge are used")

    def unidentified(reason: str) -> Verdict:
        return Verdict(identified=False, confidence=confidence, confidence_source=source, candidates=candidates,
                       precedents=found.precedents, notes=[*notes, reason])

    if confidence < settings.legal_min_confidence:
        return unidentified(f"{CONFIDENCE_LABELS[source]} {confidence:.2f} is below {settings.legal_min_confidence}: "
                            "no charge identified")
    if not found.precedents:
        return unidentified(f"no precedent is at least {settings.legal_min_similarity} similar: "
                            "no charge identified and no sentence without precedents")
    estimate = None
    if models.term is not None:
        estimate = float(models.term.predict_months([fact], [chosen])[0])
    else:
        notes.append("no prison-term estimate trained (`argus legal train`): the sentence rests on the LLM's drafts")
    return _sentenced(fact, chosen, confidence, candidates, found.precedents, notes, settings, estimate).model_copy(
        update={"confidence_source": source})


def _sentenced(fact, chosen, confidence, candidates, precedents, notes, settings: Settings,
               estimate: float | None) -> Verdict:
    from models.legal.sentencing import sentence
    from models.llm.client import StructuredOutputError

    try:
        result, runs = sentence(fact, precedents, chosen, settings, term_estimate=estimate)
    except StructuredOutputError as exc:
        return Verdict(identified=True, charges=chosen, confidence=confidence, candidates=candidates,
                       precedents=precedents, notes=[*notes, f"sentencing failed, no sentence given: {exc}"])
    charges = chosen if result.charge in chosen else [result.charge, *chosen[1:]]
    return Verdict(
        identified=True,
        charges=charges,
        confidence=confidence,
        candidates=candidates,
        defendant=result.defendant or None,
        fine=result.fine,
        prison_months=None if result.life or result.death else result.prison_months,
        life_imprisonment=result.life,
        death_penalty=result.death,
        precedents=precedents,
        sentencing_runs=runs,
        notes=notes,
    )
