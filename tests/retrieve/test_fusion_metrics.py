"""Fusion and ranking metrics on hand-made cases."""

import math

import pytest

from pipelines.retrieve.fusion import Hit, fuse, normalise
from pipelines.retrieve.metrics import ndcg_at, percentile, recall_at, reciprocal_rank, spans_overlap

pytestmark = pytest.mark.unit


def test_recall_mrr_ndcg_by_hand() -> None:
    ranking = [False, True, False, True]
    assert recall_at(ranking, 1) == 0.0 and recall_at(ranking, 2) == 1.0
    assert reciprocal_rank(ranking) == 0.5
    assert ndcg_at(ranking, 10) == 1.0  # two relevant hits are capped at the ideal
    assert ndcg_at([False, True], 10) == pytest.approx(1 / math.log2(3))
    assert reciprocal_rank([False, False]) == 0.0 and ndcg_at([], 10) == 0.0


def test_span_overlap_and_percentiles() -> None:
    assert spans_overlap(10, 20, 19.5, 30)
    assert not spans_overlap(10, 20, 21, 30)
    assert spans_overlap(10, 20, 21, 30, slack=1.0)
    assert percentile([1, 2, 3, 4], 50) == 2.5 and percentile([5], 95) == 5 and percentile([], 50) == 0.0


def test_normalise_keeps_scores_in_unit_range() -> None:
    assert normalise([10.0, 5.0, 0.0]) == [1.0, 0.5, 0.0]
    assert normalise([0.8, 0.7, 0.9], "minmax") == pytest.approx([0.5, 0.0, 1.0])
    assert normalise([1.3, -0.2], "clip") == [1.0, 0.0]
    assert normalise([3.0, 3.0], "minmax") == [1.0, 1.0]


def _hit(channel: str, source: int, score: float, t0=None, t1=None, kind="segment", page=None) -> Hit:
    return Hit(channel, kind, row_id=hash((channel, source, t0, page)) % 10_000, source_id=source, score=score,
               t0=t0, t1=t1, page=page, text=f"{channel}-{source}")


def test_sum_fusion_takes_each_channels_best_hit_per_source() -> None:
    hits = [
        # Source 1: many mediocre keyword hits; source 2: one strong hit in two channels.
        *[_hit("keyword", 1, 0.4, t0=float(i), t1=i + 1.0) for i in range(0, 50, 5)],
        _hit("keyword", 2, 1.0, t0=3, t1=6),
        _hit("dense", 2, 0.9, t0=3, t1=6),
        _hit("dense", 1, 0.5, t0=0, t1=2),
    ]
    ranked = fuse(hits, granularity="source")
    assert [r.source_id for r in ranked] == [2, 1]
    assert ranked[0].score == pytest.approx(1.9) and ranked[1].score == pytest.approx(0.9)
    assert ranked[0].channels == {"keyword": 1.0, "dense": 0.9}


def test_weights_change_the_order() -> None:
    hits = [_hit("keyword", 1, 1.0, t0=0, t1=1), _hit("dense", 2, 0.8, t0=0, t1=1)]
    assert fuse(hits)[0].source_id == 1
    assert fuse(hits, weights={"dense": 2.0})[0].source_id == 2


def test_rrf_rewards_agreement_between_channels() -> None:
    hits = [
        _hit("keyword", 1, 1.0, t0=0, t1=1), _hit("keyword", 2, 0.9, t0=0, t1=1),
        _hit("dense", 2, 1.0, t0=0, t1=1), _hit("dense", 3, 0.9, t0=0, t1=1),
    ]
    ranked = fuse(hits, rule="rrf")
    assert ranked[0].source_id == 2
    assert ranked[0].score == pytest.approx(1 / 62 + 1 / 61)


def test_moments_merge_overlaps_and_keep_keyframes_and_pages() -> None:
    keyframe = Hit("visual", "keyframe", row_id=7, source_id=1, score=0.9, t0=12.0, t1=12.0, keyframe_id=7)
    hits = [
        _hit("keyword", 1, 1.0, t0=10, t1=14),
        _hit("dense", 1, 0.5, t0=13, t1=16),  # overlaps the first: same moment
        keyframe,  # inside that moment
        _hit("dense", 1, 0.7, t0=40, t1=44),  # a separate moment
        _hit("dense", 1, 0.8, kind="caption"),  # captions rank sources, not moments
        _hit("keyword", 5, 0.6, kind="chunk", page=3),
        _hit("dense", 5, 0.6, kind="chunk", page=3),
        _hit("dense", 5, 0.2, kind="chunk", page=4),
    ]
    moments = fuse(hits, granularity="moment")
    first = moments[0]
    assert (first.source_id, first.t0, first.t1) == (1, 10, 16)
    assert first.keyframe_id == 7 and first.score == pytest.approx(1.0 + 0.5 + 0.9)
    spans = {(m.source_id, m.t0, m.t1, m.page) for m in moments}
    assert (1, 40, 44, None) in spans and (5, None, None, 3) in spans and (5, None, None, 4) in spans
    assert len(moments) == 4
    page3 = next(m for m in moments if m.page == 3)
    assert page3.score == pytest.approx(1.2)


def test_empty_input_gives_empty_ranking() -> None:
    assert fuse([], granularity="moment") == [] and fuse([], rule="rrf") == []


def _segment(channel: str, row: int, score: float, t0: float, t1: float, text: str) -> Hit:
    return Hit(channel, "segment", row_id=row, source_id=1, score=score, t0=t0, t1=t1, text=text)


def test_adjacent_sentences_do_not_chain_into_one_long_moment() -> None:
    # Ten back-to-back 5-s sentences, all hit: before, they merged into one 0-50 s moment.
    hits = [_segment("dense", row, 0.3 + row / 100, row * 5.0, row * 5.0 + 5.0, f"s{row}") for row in range(10)]
    moments = fuse(hits, granularity="moment")
    assert len(moments) >= 3
    assert all(m.t1 - m.t0 <= 20.0 for m in moments)
    assert sorted(h.row_id for m in moments for h in m.hits) == list(range(10))  # every hit kept once


def test_a_moments_evidence_holds_its_strongest_sentence_in_reading_order() -> None:
    slide = Hit("visual", "keyframe", row_id=9, source_id=1, score=0.9, t0=4.5, t1=4.5, keyframe_id=9,
                text='tags: web site; text: "Water at 92 to 96 °C"')
    hits = [
        _segment("dense", 0, 0.3, 0.0, 2.0, "Hello."),  # too weak beside the best row
        _segment("dense", 1, 0.8, 2.0, 4.0, "Welcome to this guide."),
        slide,
        _segment("dense", 2, 0.5, 5.0, 9.0, "The water should be between 92 and 96 degrees."),
        _segment("keyword", 2, 1.0, 5.0, 9.0, "The water should be between 92 and 96 degrees."),
        _segment("dense", 3, 0.9, 9.0, 12.0, "x" * 700),  # strong but too long for the budget
    ]
    moment = fuse(hits, granularity="moment")[0]
    assert (moment.t0, moment.t1) == (0.0, 12.0)
    assert [h.row_id for h in moment.evidence_hits()] == [1, 9, 2]  # contiguous around the strongest row
    assert moment.best_text == ('Welcome to this guide. On screen: "Water at 92 to 96 °C" '
                                "The water should be between 92 and 96 degrees.")


def test_z_confidence_maps_the_margin_over_the_background() -> None:
    from pipelines.retrieve.fusion import Z_HIGH, Z_LOW, z_confidence

    assert z_confidence(0.80, 0.78, 0.02) == pytest.approx(0.0)  # one sd above: no better than chance
    assert z_confidence(0.70, 0.78, 0.02) == 0.0
    assert z_confidence(0.78 + Z_HIGH * 0.02, 0.78, 0.02) == pytest.approx(1.0)
    assert z_confidence(0.99, 0.78, 0.02) == 1.0
    middle = z_confidence(0.78 + (Z_LOW + Z_HIGH) / 2 * 0.02, 0.78, 0.02)
    assert middle == pytest.approx(0.5)


def test_confident_visual_channel_is_not_drowned_by_weak_text_hits() -> None:
    from pipelines.retrieve.fusion import confidence_weights

    # A licence document tops keyword and dense with weak hits (normalised to 1 all the same);
    # the visual channel is sure of the video.
    hits = [Hit("keyword", "chunk", 1, 1, 1.0), Hit("dense", "chunk", 1, 1, 1.0),
            Hit("visual", "keyframe", 5, 2, 1.0, t0=3.0, t1=3.0), Hit("visual", "keyframe", 6, 1, 0.0)]
    assert fuse(hits)[0].source_id == 1  # equal weights: two weak channels outvote one sure one
    weights = confidence_weights({"keyword": 0.25, "dense": 0.05, "visual": 0.9})
    assert weights["visual"] == pytest.approx(0.2 + 0.8 * 0.9)
    assert fuse(hits, weights=weights)[0].source_id == 2
    assert confidence_weights({"dense": 1.0}, {"dense": 2.0}) == {"dense": pytest.approx(2.0)}


def test_text_share_follows_the_best_text_rows_lead_over_the_best_class_name() -> None:
    from pipelines.retrieve.fusion import (
        TEXT_MARGIN_HIGH,
        TEXT_MARGIN_LOW,
        TEXT_SHARE_FLOOR,
        Background,
        text_share,
    )

    background = Background(mean=0.78, std=0.02, centred_mean=0.0, centred_std=0.05, best=0.85)
    assert text_share(0.85 + TEXT_MARGIN_HIGH * 0.02, background) == pytest.approx(1.0)
    assert text_share(0.95, background) == 1.0  # a passage far closer than any thing one can see
    assert text_share(0.85 + TEXT_MARGIN_LOW * 0.02, background) == pytest.approx(TEXT_SHARE_FLOOR)
    assert text_share(0.70, background) == pytest.approx(TEXT_SHARE_FLOOR)  # a picture query: text keeps its floor
    assert TEXT_SHARE_FLOOR < text_share(0.85, background) < 1.0


def test_shares_scale_whole_weights_floor_included() -> None:
    from pipelines.retrieve.fusion import confidence_weights

    weights = confidence_weights({"keyword": 0.0, "dense": 1.0, "visual": 0.5}, shares={"keyword": 0.1, "dense": 0.1})
    assert weights == {"keyword": pytest.approx(0.1 * 0.2), "dense": pytest.approx(0.1),
                       "visual": pytest.approx(0.2 + 0.8 * 0.5)}


def test_beside_the_class_space_keyframe_text_counts_only_for_words_on_screen() -> None:
    """Two real two-keyframe indexes disagree: keyframe 1's text reads like the query, keyframe
    2's class evidence matches it. With a class space the channel follows what is seen, unless
    keyframe 1's text is words on screen (a slide), which the class space cannot read."""
    import faiss
    import numpy as np

    from pipelines.retrieve.channels import visual_channel
    from pipelines.store.indexes import Indexes, KeywordIndex, VectorIndex

    def flat(vectors: dict[int, list[float]]) -> VectorIndex:
        index = faiss.IndexIDMap(faiss.IndexFlatIP(2))
        index.add_with_ids(np.array(list(vectors.values()), np.float32), np.array(list(vectors), np.int64))
        return VectorIndex(index, packed_ids=False)

    indexes = Indexes(version=None, dense=flat({1: [1, 0], 2: [0, 1]}), image=VectorIndex(None, packed_ids=False),
                      clip=None, keyword=KeywordIndex(None), semantic=flat({1: [0, 1], 2: [1, 0]}))
    query = np.array([1, 0], np.float32)
    best = lambda rows: max(rows, key=lambda r: r.score).row_id  # noqa: E731
    assert best(visual_channel(indexes, "a football match", query, 5, class_vector=query)) == 2
    slide = visual_channel(indexes, "a football match", query, 5, class_vector=query, text_keyframes=frozenset({1}))
    assert {r.row_id: r.score for r in slide}[1] == 1.0  # as sure as the class-space match
    assert best(visual_channel(indexes, "a football match", query, 5)) == 1  # no class vector: keyframe text
    stale = np.array([1, 0, 0], np.float32)  # a class space of another model: its index is not searched
    assert best(visual_channel(indexes, "a football match", query, 5, class_vector=stale)) == 1


def test_words_on_screen_are_told_from_stray_ocr() -> None:
    from pipelines.store.catalog import _word_count

    assert [_word_count(t) for t in ("AIM", "0000", "酒", "10 ce en")] == [1, 0, 0, 0]
    assert _word_count("A moth stuck in a relay") >= 2 and _word_count("古代钱币") == 2
