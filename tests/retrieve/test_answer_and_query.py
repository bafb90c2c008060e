"""Query cleaning, the empty base, and the [n] marker rules of answers."""

from pathlib import Path

import pytest

from core.settings import Settings
from core.types import Citation, Evidence, SourceType
from pipelines.retrieve.answer import NOT_FOUND, NOT_FOUND_ZH, cited_numbers, finish_answer, resolve_markers
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


def _said(n: int, text: str, score: float = 0.9) -> Evidence:
    return _ev(n, score).model_copy(update={"text": text})


def test_a_declining_reply_shows_the_closest_passage_only_when_it_is_about_the_question() -> None:
    on_topic = [_said(1, "Brew coffee with water between 92 and 96 degrees."), _said(2, "Tea is old.")]
    result = finish_answer("What water temperature is best for coffee?", on_topic,
                           "The evidence does not answer this question.")
    assert not result.answered and result.text.startswith(NOT_FOUND)
    assert result.text.endswith('[1]: "Brew coffee with water between 92 and 96 degrees."')
    assert [e.citation.source for e in result.evidence] == ["v1.mp4"]
    off_topic = finish_answer("Who won the 1998 world cup?", on_topic, "The evidence does not answer this question.")
    assert off_topic.text == NOT_FOUND and off_topic.evidence == []


def test_answers_keep_only_supported_sentences_each_citing_its_support() -> None:
    evidence = [_said(1, "A good espresso has crema."), _said(2, "The water should be between 92 and 96 degrees.")]
    q = "What water temperature is best for coffee?"
    result = finish_answer(q, evidence, "Based on the evidence, the best water temperature is 92 to 96 degrees [1].")
    assert result.answered and result.text == "Based on the evidence, the best water temperature is 92 to 96 degrees [2]."
    made_up = finish_answer("Who won the 1998 world cup?", evidence, "France won it in Paris [1].")
    assert not made_up.answered and made_up.text == NOT_FOUND
    mixed = finish_answer(q, evidence, "It is 92 to 96 degrees. Boil it for ten minutes first [2].")
    assert mixed.text == "It is 92 to 96 degrees [2]." and mixed.answered


def test_the_decline_speaks_the_questions_language() -> None:
    assert finish_answer("长城有多长？", [_ev(1, score=0.05)], "").text == NOT_FOUND_ZH
