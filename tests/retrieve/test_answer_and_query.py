"""Query cleaning, the empty base, and the [n] marker rules of answers."""

from pathlib import Path

import pytest

from app.settings import Settings
from app.types import Citation, Evidence, SourceType
from pipelines.retrieve.answer import NOT_FOUND, cited_numbers, finish_answer, resolve_markers
from pipelines.retrieve.search import MAX_QUERY_CHARS, QueryError, Retriever, clean_query

pytestmark = pytest.mark.unit


def _ev(n: int, score: float = 0.9) -> Evidence:
    return Evidence(citation=Citation(source_id=n, source=f"v{n}.mp4", type=SourceType.video, t0=n, t1=n + 5),
                    text=f"evidence {n}", score=score)


@pytest.mark.parametrize("bad", ["", "   ", "\x00\x01\x1b", "\n\t"])
def test_empty_or_control_only_queries_are_refused(bad: str) -> None:
    with pytest.raises(QueryError, match="empty"):
        clean_query(bad)


def test_control_characters_are_removed_and_scripts_kept() -> None:
    assert clean_query("cat\x00 on\x1b a  sofa") == "cat on a sofa"
    assert clean_query("  茶的历史 ") == "茶的历史"
    assert clean_query("𓀀 ᚠᛇᚻ") == "𓀀 ᚠᛇᚻ"  # unsupported scripts are searched, not rejected


def test_huge_queries_get_one_clear_error() -> None:
    with pytest.raises(QueryError, match=f"100000 characters long; the limit is {MAX_QUERY_CHARS}"):
        clean_query("a" * 100_000)


@pytest.mark.parametrize("k", [0, -3, 10**6])
def test_k_out_of_range(k: int, argus_home: Path) -> None:
    with pytest.raises(QueryError, match="k must be between"):
        Retriever(Settings()).search("cats", k=k)


def test_unknown_channel(argus_home: Path) -> None:
    with pytest.raises(QueryError, match="unknown channel"):
        Retriever(Settings(), channels=("keyword", "telepathy"))


def test_empty_base_gives_no_results(argus_home: Path) -> None:
    retriever = Retriever(Settings())
    assert retriever.search("anything at all", k=5) == []
    retriever.close()


def test_markers_that_point_nowhere_are_removed() -> None:
    evidence = [_ev(1), _ev(2)]
    text = resolve_markers("Cats sleep a lot [1][3]. Tea is old [2] [0].", evidence)
    assert text == "Cats sleep a lot [1]. Tea is old [2] ."
    assert cited_numbers(text) == [1, 2]


def test_answer_without_relevant_evidence_says_so() -> None:
    result = finish_answer("q", [_ev(1, score=0.05)], "made up [1]")
    assert not result.answered and result.text == NOT_FOUND and result.evidence == []


def test_a_declining_reply_is_not_an_answer_but_shows_the_closest_passage() -> None:
    result = finish_answer("q", [_ev(1), _ev(2)], "The evidence does not answer this question.")
    assert not result.answered
    assert result.text.endswith('[1]: "evidence 1"') and [e.text for e in result.evidence] == ["evidence 1"]
    assert finish_answer("q", [_ev(1)], "It is blue [1].").answered
