"""The TF-IDF baseline and the FAISS precedent base."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from app.settings import Settings
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
