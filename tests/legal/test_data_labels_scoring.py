"""CAIL2018 loading and validation, the label set and multi-label rule, and the CAIL2018 scorer."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from models.legal.data import load_cases, parse_case
from models.legal.labels import LabelSet, select_charges
from models.legal.scoring import Sentence, charge_scores, fine_correct, term_score

pytestmark = pytest.mark.unit


def row(**meta) -> dict:
    base = {"accusation": ["盗窃"], "relevant_articles": [264], "punish_of_money": 1000, "criminals": ["张某"],
            "term_of_imprisonment": {"death_penalty": False, "imprisonment": 6, "life_imprisonment": False}}
    return {"fact": "被告人张某盗窃手机一部。", "meta": {**base, **meta}}


def test_loader_keeps_good_rows_and_reports_bad_ones(tmp_path: Path) -> None:
    lines = [
        json.dumps(row(), ensure_ascii=False),
        "{not json",
        json.dumps({"fact": "  ", "meta": row()["meta"]}, ensure_ascii=False),
        json.dumps(row(punish_of_money=-5), ensure_ascii=False),
        json.dumps(row(accusation=[]), ensure_ascii=False),
        json.dumps(row(term_of_imprisonment={"death_penalty": "no", "imprisonment": 1, "life_imprisonment": False})),
        "",
        json.dumps(row(accusation=["[走私、贩卖、运输、制造]毒品", "盗窃", "盗窃"]), ensure_ascii=False),
    ]
    path = tmp_path / "cases.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    loaded = load_cases(path)
    assert [c.id for c in loaded.cases] == ["cases:1", "cases:8"]
    assert [b.line for b in loaded.bad] == [2, 3, 4, 5, 6]
    assert "not JSON" in loaded.bad[0].reason and "fact" in loaded.bad[1].reason
    assert "punish_of_money" in loaded.bad[2].reason and "accusation" in loaded.bad[3].reason
    assert "5 bad rows" in loaded.summary()
    # Brackets are normalised to accu.txt's spelling and a repeated charge counts once.
    assert loaded.cases[1].charges == ("走私、贩卖、运输、制造毒品", "盗窃")


def test_real_sample_loads_without_bad_rows(cail: Path) -> None:
    loaded = load_cases(cail / "valid.jsonl")
    assert len(loaded.cases) == 470 and not loaded.bad
    case = loaded.cases[0]
    assert case.fact and case.charges and case.prison_months >= 0


def test_label_set_follows_accu_order_and_reports_unknown_charges(tmp_path: Path) -> None:
    accu = tmp_path / "accu.txt"
    accu.write_text("故意伤害\n盗窃\n诈骗\n", encoding="utf-8")
    cases = [parse_case(row(accusation=a), f"x:{i}") for i, a in enumerate([["诈骗"], ["盗窃", "新罪名"], ["诈骗"]])]
    labels, unknown = LabelSet.build(accu, cases)
    assert labels.names == ["盗窃", "诈骗", "新罪名"]  # only charges the data uses; accu order first
    assert unknown == ["新罪名"]
    targets = labels.targets(cases)
    np.testing.assert_allclose(targets[1], [0.5, 0.0, 0.5])
    np.testing.assert_allclose(targets.sum(axis=1), 1.0)
    saved = tmp_path / "labels.json"
    labels.save(saved)
    assert LabelSet.load(saved) == labels


def test_multi_label_rule() -> None:
    assert select_charges(np.array([0.1, 0.7, 0.2])) == [1]
    assert select_charges(np.array([0.05, 0.5, 0.45])) == [1, 2]  # second >= half of the top
    assert select_charges(np.array([0.3, 0.3, 0.3, 0.1])) == [0, 1, 2]  # at most three
    assert select_charges(np.array([0.2, 0.2])) == [0, 1]


@pytest.mark.parametrize(("pred", "gold", "expected"), [
    (12, 12, 1.0),  # v = 0
    (14, 12, 1.0),  # v = ln(15/13) = 0.143
    (18, 12, 0.8),  # v = ln(19/13) = 0.379
    (36, 24, 0.8),  # v = ln(37/25) = 0.392
    (22, 12, 0.6),  # v = ln(23/13) = 0.571
    (27, 12, 0.4),  # v = ln(28/13) = 0.767
    (6, 12, 0.4),   # v = ln(13/7) = 0.619
    (4, 12, 0.2),   # v = ln(13/5) = 0.956
    (0, 12, 0.0),   # v = ln 13 = 2.565
])
def test_term_score_hand_computed(pred: int, gold: int, expected: float) -> None:
    assert term_score(Sentence(pred), Sentence(gold)) == expected


def test_life_and_death_count_only_when_exact() -> None:
    assert term_score(Sentence(0, death=True), Sentence(0, death=True)) == 1.0
    assert term_score(Sentence(240), Sentence(0, death=True)) == 0.0
    assert term_score(Sentence(0, life=True), Sentence(0, life=True)) == 1.0
    assert term_score(Sentence(0, death=True), Sentence(0, life=True)) == 0.0
    assert term_score(Sentence(0, life=True), Sentence(12)) == 0.0


def test_fine_within_twenty_percent() -> None:
    assert fine_correct(1200, 1000) and fine_correct(800, 1000) and fine_correct(1000, 1000)
    assert not fine_correct(1201, 1000) and not fine_correct(799, 1000)
    assert fine_correct(0, 0) and not fine_correct(100, 0)


def test_charge_f1_hand_computed() -> None:
    gold = [["A"], ["A"], ["B"], ["A", "C"]]
    pred = [["A"], ["B"], ["B"], ["A"]]
    scores = charge_scores(pred, gold)
    # A: tp 2, fp 0, fn 1 -> 0.8;  B: tp 1, fp 1, fn 0 -> 2/3;  C: tp 0, fn 1 -> 0
    assert scores.per_label_f1 == pytest.approx({"A": 0.8, "B": 2 / 3, "C": 0.0})
    assert scores.micro_f1 == pytest.approx(6 / 9)  # tp 3, fp 1, fn 2
    assert scores.macro_f1 == pytest.approx((0.8 + 2 / 3) / 3)
    assert scores.accuracy == 0.5
