"""The sentencing step's schema and merge rule (no LLM needed)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from core.types import Precedent
from models.legal.sentencing import SentencingDraft, build_prompt, draft_schema, merge_runs

pytestmark = pytest.mark.unit


def precedent(months: int, fine: float, charge: str = "盗窃", life: bool = False, death: bool = False) -> Precedent:
    return Precedent(case_id=f"train:{months}", charges=[charge], fine=fine, prison_months=months, life=life,
                     death=death, similarity=0.9, fact="被告人某某盗窃财物。")


PRECEDENTS = [precedent(6, 1000), precedent(12, 3000), precedent(9, 2000)]


def draft(charge: str = "盗窃", months: int = 9, fine: int = 2000, defendant: str = "张某",
          life: bool = False, death: bool = False) -> SentencingDraft:
    return SentencingDraft(charge=charge, fine_yuan=fine, prison_months=months, life_imprisonment=life,
                           death_penalty=death, defendant=defendant)


def test_merge_votes_categories_and_takes_the_median_of_numbers() -> None:
    runs = [draft("盗窃", 6, 1000, "张某"), draft("抢劫", 12, 3000, "张某"), draft("盗窃", 10, 2500, "张三")]
    merged = merge_runs(runs, PRECEDENTS)
    assert merged.charge == "盗窃" and merged.defendant == "张某"
    assert merged.prison_months == 10 and merged.fine == 2500
    assert merged.life is False and merged.death is False


def test_merge_ties_go_to_the_first_value_and_even_counts_average_the_middle() -> None:
    merged = merge_runs([draft("抢劫", 6, 1000), draft("盗窃", 12, 3000)], PRECEDENTS)
    assert merged.charge == "抢劫"
    assert merged.prison_months == 9 and merged.fine == 2000


def test_merged_numbers_stay_inside_the_precedents_range() -> None:
    merged = merge_runs([draft(months=40, fine=90_000)] * 3, PRECEDENTS)
    assert merged.prison_months == 12 and merged.fine == 3000
    merged = merge_runs([draft(months=0, fine=0)] * 3, PRECEDENTS)
    assert merged.prison_months == 6 and merged.fine == 1000


def test_no_sentence_without_precedents_or_runs() -> None:
    with pytest.raises(ValueError, match="precedents"):
        merge_runs([draft()], [])
    with pytest.raises(ValueError, match="runs"):
        merge_runs([], PRECEDENTS)


def test_schema_limits_charges_and_forbids_sentences_no_precedent_had() -> None:
    schema = draft_schema(["盗窃", "抢劫"], PRECEDENTS)
    ok = {"charge": "抢劫", "fine_yuan": 100, "prison_months": 7, "life_imprisonment": False,
          "death_penalty": False, "defendant": "张某"}
    assert schema.model_validate(ok).charge == "抢劫"
    for bad in ({"charge": "诈骗"}, {"death_penalty": True}, {"life_imprisonment": True}, {"prison_months": -1}):
        with pytest.raises(ValidationError):
            schema.model_validate({**ok, **bad})
    json_schema = schema.model_json_schema()
    assert json_schema["properties"]["charge"]["enum"] == ["盗窃", "抢劫"]

    with_death = draft_schema(["故意杀人"], [precedent(0, 0, "故意杀人", death=True)])
    assert with_death.model_validate({**ok, "charge": "故意杀人", "death_penalty": True}).death_penalty


def test_prompt_shows_each_precedents_outcome() -> None:
    messages = build_prompt("被告人张某盗窃手机。", [*PRECEDENTS, precedent(0, 0, "故意杀人", death=True)], ["盗窃"])
    text = messages[1][1]
    assert "被告人张某盗窃手机" in text and "有期徒刑6个月" in text and "罚金：3000元" in text and "死刑" in text
    assert "候选罪名：盗窃" in text


def test_the_term_estimate_joins_the_drafts_in_the_median_and_the_prompt() -> None:
    runs = [draft(months=6), draft(months=7), draft(months=12)]
    assert merge_runs(runs, PRECEDENTS).prison_months == 7
    assert merge_runs(runs, PRECEDENTS, term_estimate=11.0).prison_months == 9  # median of 6, 7, 11, 12
    assert merge_runs(runs, PRECEDENTS, term_estimate=80.0).prison_months == 9.5  # 6, 7, 12, 80: one step up
    text = build_prompt("被告人张某盗窃手机。", PRECEDENTS, ["盗窃"], term_estimate=10.4)[1][1]
    assert "约10个月" in text
    assert "统计模型" not in build_prompt("被告人张某盗窃手机。", PRECEDENTS, ["盗窃"])[1][1]
