"""The TF-IDF baseline and the FAISS precedent base."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from core.settings import Settings
from models.legal.baseline import TfidfBaseline
from models.legal.data import load_cases
from models.legal.labels import LabelSet, find_accu
from models.legal.precedents import PrecedentBase, embed


@pytest.mark.unit
def test_baseline_trains_saves_and_reloads(small_train: Path, tmp_path: Path) -> None:
    cases = load_cases(small_train).cases
    labels, _ = LabelSet.build(find_accu(small_train), cases)
    baseline = TfidfBaseline(labels).fit(cases)
    facts = [c.fact for c in cases]
    probs = baseline.predict_proba(facts)
    assert probs.shape == (len(cases), len(labels))
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)
    predicted = baseline.predict(facts)
    assert np.mean([p[0] in c.charges for p, c in zip(predicted, cases, strict=True)]) > 0.8  # fits its training data

    baseline.save(tmp_path)
    assert TfidfBaseline.load(tmp_path).predict(facts) == predicted


@pytest.mark.integration
def test_precedent_base_is_incremental_and_prefilters_by_charge(small_train: Path, argus_home: Path) -> None:
    settings = Settings(threads=1)
    folder = argus_home / "precedents"
    cases = load_cases(small_train).cases[:12]
    base, added = PrecedentBase.build(cases[:8], folder, settings)
    assert added == 8 and len(base) == 8
    base, added = PrecedentBase.build(cases, folder, settings)
    assert added == 4 and len(base) == 12  # only the new facts were embedded
    assert PrecedentBase.build(cases, folder, settings)[1] == 0
    base = PrecedentBase.open(folder)
    assert len(base) == 12

    case = cases[0]
    query = embed(settings, [case.fact], query=True)[0]
    assert query.shape == (base.index.d,) and abs(float(np.linalg.norm(query)) - 1) < 1e-4
    found = base.search(query, [case.primary_charge], k=5, min_similarity=0.0, min_filtered=1)
    assert found.filtered and found.precedents
    assert all(case.primary_charge in p.charges for p in found.precedents)
    assert found.precedents[0].case_id == case.id  # the case itself is the most similar
    assert found.precedents[0].prison_months == case.prison_months and found.precedents[0].fine == case.fine

    # Too few cases of the charge: the search falls back to every charge. The similarity floor drops weak matches.
    fallback = base.search(query, [case.primary_charge], k=5, min_similarity=0.0, min_filtered=3)
    assert not fallback.filtered and len(fallback.precedents) == 5
    assert fallback.precedents[0].case_id == case.id
    assert base.search(query, [], k=5, min_similarity=1.01, min_filtered=3).precedents == []


@pytest.mark.unit
def test_term_estimate_learns_longer_terms_for_larger_amounts(small_train: Path, tmp_path: Path) -> None:
    from models.legal.data import Case
    from models.legal.term_estimate import TermEstimator, amount_tokens

    assert amount_tokens("盗窃现金3000元，另有1.5万元") == ["NUM_元_11", "NUM_元_13"]
    # Invented cases (clearly labelled): the term grows with the amount stolen.
    cases = [Case(f"t:{i}", f"被告人某某盗窃他人财物价值{amount}元，案发后退赔。", ("盗窃",), (264,), 1000.0, ("某某",),
                  months, False, False)
             for i, (amount, months) in enumerate([(500, 3), (800, 4), (1000, 6), (50_000, 36), (80_000, 48),
                                                   (100_000, 60)] * 3)]
    cases += [Case("t:life", "被告人某某抢劫杀人。", ("抢劫",), (263,), 0.0, ("某某",), 0, True, False)]
    estimator = TermEstimator().fit(cases)
    small, large = estimator.predict_months(["被告人李某盗窃价值900元的手机。", "被告人李某盗窃价值90000元的汽车。"],
                                            [["盗窃"], ["盗窃"]])
    assert 0 <= small < large
    estimator.save(tmp_path)
    again = TermEstimator.load(tmp_path).predict_months(["被告人李某盗窃价值900元的手机。"], [["盗窃"]])
    assert again[0] == pytest.approx(small)
    assert TermEstimator().fit(load_cases(small_train).cases).predict_months([], []).shape == (0,)
