"""`predict(fact) -> Verdict`: bad input never crashes nor invents numbers; real cases get schema-valid verdicts
that cite real precedents (with the real vLLM engine); the agents' tool and the CLI wrap it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from core.settings import Settings
from core.types import Verdict
from models.legal.data import load_cases
from models.legal.pipeline import predict

NO_CRIME = "今天天气很好，我和朋友去公园散步，看了看湖里的鸭子，然后回家一起吃了晚饭。"


def assert_no_numbers(verdict: Verdict) -> None:
    assert not verdict.identified and verdict.charges == []
    assert verdict.fine is None and verdict.prison_months is None
    assert verdict.life_imprisonment is None and verdict.death_penalty is None
    assert verdict.notes


@pytest.mark.unit
@pytest.mark.parametrize("fact", ["", "   \n", "The defendant stole a bicycle from the market.", "12345 !!!"])
def test_empty_or_non_chinese_facts_are_answered_without_any_model(fact: str, tmp_path: Path) -> None:
    # An empty ARGUS_HOME: any attempt to load a model would raise.
    verdict = predict(fact, Settings(home=tmp_path / "empty_home"))
    assert_no_numbers(verdict)
    assert verdict.confidence == 0.0


@pytest.mark.integration
def test_huge_and_crime_free_facts_get_no_charge_and_no_numbers(legal_settings: Settings) -> None:
    # 115k characters: cut, classified from its start, answered without a crash (the sentencing step is kept
    # out of this test by an unreachable confidence floor).
    strict = legal_settings.model_copy(update={"legal_min_confidence": 1.01})
    huge = predict("被告人张某在超市盗窃手机一部，价值人民币三千元。" * 5000, strict)
    assert_no_numbers(huge)
    assert any("cut" in n for n in huge.notes) and huge.candidates

    assert_no_numbers(predict(NO_CRIME, legal_settings))
    # However confident the classifier were, a fact with no similar precedent gets no sentence: the default
    # similarity floor (calibrated on e5-small, see docs/eval/legal.md) keeps everyday text out.
    confident = legal_settings.model_copy(update={"legal_min_confidence": 0.0})
    verdict = predict(NO_CRIME, confident)
    assert_no_numbers(verdict)
    assert any("precedent" in n for n in verdict.notes)


@pytest.mark.integration
def test_real_cases_get_schema_valid_verdicts_citing_real_precedents(legal_settings: Settings, llm_engine,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    import models.legal.sentencing as sentencing

    # The tiny test classifier is never confident; lift the floors so the case reaches the LLM.
    settings = legal_settings.model_copy(update={"legal_min_confidence": 0.0, "legal_min_similarity": 0.0})
    known = {c.id: c for c in load_cases(settings.legal_data).cases}
    case = load_cases(settings.legal_data.parent / "valid.jsonl").cases[0]
    merges = []  # the real merge of the LLM's drafts, recorded: the verdict must carry its numbers

    def recorded_merge(runs, precedents, term_estimate=None):
        merged = real_merge(runs, precedents, term_estimate)
        merges.append((list(runs), list(precedents), merged))
        return merged

    real_merge = sentencing.merge_runs
    monkeypatch.setattr(sentencing, "merge_runs", recorded_merge)

    verdict = predict(case.fact, settings)
    assert Verdict.model_validate_json(verdict.model_dump_json()) == verdict
    assert verdict.identified and verdict.charges and verdict.sentencing_runs == settings.legal_sentencing_runs
    assert not any("term estimate" in n for n in verdict.notes)  # the estimate was trained and used
    assert len(verdict.precedents) == settings.legal_precedents
    for p in verdict.precedents:
        source = known[p.case_id]  # a real case of the training file, with its real outcome
        assert list(source.charges) == p.charges and source.prison_months == p.prison_months
    # The sentence is the merge of this call's LLM drafts over the very precedents the verdict cites
    # (merge_runs' median and clamp are tested in test_sentencing.py).
    ((drafts, used, merged),) = merges
    assert len(drafts) == settings.legal_sentencing_runs
    assert [p.case_id for p in used] == [p.case_id for p in verdict.precedents]
    assert verdict.fine == merged.fine and verdict.defendant == (merged.defendant or None)
    if not (merged.life or merged.death):
        assert verdict.prison_months == merged.prison_months
    # The primary charge is the classifier's or, when the LLM voted otherwise, one of the precedents'.
    offered = {c.charge for c in verdict.candidates} | {c for p in verdict.precedents for c in p.charges}
    assert verdict.charges[0] in offered


@pytest.mark.integration
def test_agent_tool_describes_the_verdict(legal_settings: Settings) -> None:
    from models.legal.tool import make_legal_tool

    tool = make_legal_tool(legal_settings)
    assert tool.name == "legal_judgement" and "criminal" in tool.description
    text = tool.invoke({"fact": NO_CRIME})
    assert "No charge identified" in text and "not legal advice" in text
    # The default weight (1.0) takes the charge probabilities from the TF-IDF baseline alone: the tool says so.
    assert legal_settings.legal_baseline_weight == 1.0 and "(TF-IDF baseline probability " in text


@pytest.mark.integration
def test_the_default_weight_never_loads_the_classifier(legal_settings: Settings, monkeypatch) -> None:
    import models.legal.pipeline as pipeline

    def no_classifier(settings):
        raise AssertionError("the classifier was loaded although the baseline weight is 1.0")

    monkeypatch.setattr(pipeline, "_loaded", {})
    monkeypatch.setattr(pipeline, "load_classifier", no_classifier)
    verdict = predict(NO_CRIME, legal_settings)
    assert verdict.confidence_source == "baseline" and verdict.candidates


@pytest.mark.unit
def test_cli_predict_answers_an_empty_fact(argus_home: Path) -> None:
    from typer.testing import CliRunner

    from app.cli import app

    result = CliRunner().invoke(app, ["legal", "predict", "--json", " "])
    assert result.exit_code == 0, result.output
    assert Verdict.model_validate_json(result.output).identified is False


class FixedProbabilities:
    """A fake charge model (named as one): the same probabilities for every fact, over a fixed label set."""

    def __init__(self, labels, probs):
        self.labels, self.probs = labels, np.asarray(probs, dtype=np.float32)

    def predict_proba(self, facts, batch_size: int = 1):
        return np.tile(self.probs, (len(facts), 1))


@pytest.mark.unit
def test_charge_probabilities_mix_the_classifier_and_the_baseline() -> None:
    from models.legal.labels import LabelSet
    from models.legal.pipeline import LegalModels

    labels = LabelSet(["盗窃", "诈骗"])
    models = LegalModels(FixedProbabilities(labels, [0.9, 0.1]), None, FixedProbabilities(labels, [0.2, 0.8]))
    np.testing.assert_allclose(models.charge_probabilities(["x"], 0.0), [[0.9, 0.1]])
    np.testing.assert_allclose(models.charge_probabilities(["x"], 1.0), [[0.2, 0.8]])
    np.testing.assert_allclose(models.charge_probabilities(["x", "y"], 0.25), [[0.725, 0.275]] * 2, rtol=1e-6)
    other = LegalModels(FixedProbabilities(labels, [0.9, 0.1]), None, FixedProbabilities(LabelSet(["抢劫", "诈骗"]), [0.5, 0.5]))
    with pytest.raises(RuntimeError, match="label sets"):
        other.charge_probabilities(["x"], 0.5)


@pytest.mark.unit
@pytest.mark.parametrize(("weight", "source", "label"), [(1.0, "baseline", "TF-IDF baseline probability 0.42"),
                                                         (0.0, "classifier", "classifier probability 0.42"),
                                                         (0.5, "blend", "classifier/baseline blend probability 0.42")])
def test_the_confidence_is_labelled_by_its_model(weight: float, source: str, label: str) -> None:
    from models.legal.pipeline import charge_model
    from models.legal.tool import confidence_text, describe_verdict

    assert charge_model(weight) == source
    verdict = Verdict(identified=False, confidence=0.42, confidence_source=source)
    assert confidence_text(verdict) == label and f"({label})" in describe_verdict(verdict)
