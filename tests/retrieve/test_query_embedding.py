"""The shipped multilingual-e5 embedder: the query-vector cache and concurrent use from threads."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from models.text_embedding import clear_query_cache, embed_passages, embed_query, load_text_embedder

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("argus_home")]


def test_query_vectors_are_cached_read_only_and_equal_to_a_fresh_embedding() -> None:
    clear_query_cache()
    first = embed_query("How long is the Great Wall?")
    assert first.shape == (load_text_embedder().dim,) and first.dtype == np.float32
    assert embed_query("How long is the Great Wall?") is first  # from the cache
    with pytest.raises(ValueError, match="read-only"):
        first[0] = 1.0
    clear_query_cache()
    again = embed_query("How long is the Great Wall?")
    assert again is not first and np.allclose(again, first, atol=1e-6)
    assert np.isclose(np.linalg.norm(again), 1.0, atol=1e-5)


def test_threads_embed_at_once_with_the_same_results_as_one_thread() -> None:
    queries = [f"question number {n} about coffee" for n in range(12)] + ["大熊猫吃什么", "espresso crema"]
    clear_query_cache()
    alone = [embed_query(q).copy() for q in queries]
    clear_query_cache()
    with ThreadPoolExecutor(4) as pool:
        together = list(pool.map(embed_query, queries))
        passages = list(pool.map(lambda q: embed_passages([q, "a cup of tea"]), queries))
    for a, b in zip(alone, together, strict=True):
        assert np.allclose(a, b, atol=1e-6)
    assert all(p.shape == (2, len(alone[0])) for p in passages)
    assert not np.allclose(passages[0][0], alone[0])  # "passage: " and "query: " prompts differ
