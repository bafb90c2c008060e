"""Checking an answer's [n] citations against the evidence (pipelines.retrieve.citations)."""

from __future__ import annotations

import pytest

from core.types import Citation, Evidence
from pipelines.retrieve.citations import check_citations, support, tokens

pytestmark = pytest.mark.unit


def ev(text: str, name: str = "a.md") -> Evidence:
    return Evidence(citation=Citation(source_id=1, source=name, type="document"), text=text, score=1.0, channels={})


EVIDENCE = [ev("Welcome to this short guide to brewing better coffee at home."),
            ev("The water should be between ninety two and ninety six degrees Celsius."),
            ev("二〇一二年国家文物局公布，历代长城的总长度为21196.18千米。成年大熊猫每天要吃十二到三十八公斤竹子。")]


def test_numbers_are_compared_as_digits_in_both_languages() -> None:
    assert {"92", "2000", "2000000"} <= set(tokens("ninety two, 2,000 and two million"))
    assert {"1987", "12", "38"} <= set(tokens("一九八七年，十二到三十八"))


def test_support_needs_every_number_and_most_words() -> None:
    assert support("The water should be 92 to 96 degrees.", EVIDENCE[1].text) == 1.0
    assert support("The water should be 90 degrees.", EVIDENCE[1].text) == 0.0
    assert support("Moths eat wool sweaters.", EVIDENCE[1].text) < 0.5


def test_a_wrong_marker_is_moved_to_the_item_that_holds_the_claim() -> None:
    check = check_citations("The water should be 92 to 96 degrees Celsius [1].", EVIDENCE)
    assert check.text == "The water should be 92 to 96 degrees Celsius [2]." and check.recited == 1


def test_an_unsupported_claim_is_removed_not_just_its_marker() -> None:
    check = check_citations("The water should be 92 to 96 degrees [2]. A grinder costs 120 dollars [1]. "
                            "It was invented in 1908 [7].", EVIDENCE)
    assert check.text == "The water should be 92 to 96 degrees [2]."
    assert len(check.removed) == 2 and check.supported == 1 and check.grounded


def test_the_llm_settles_what_lexical_support_cannot() -> None:
    asked = []

    def ask(sentence: str, item: Evidence) -> bool:
        asked.append((sentence, item.text))
        return True

    check = check_citations("The guide teaches espresso recipes [1].", EVIDENCE, ask=ask)
    assert len(asked) == 1 and check.supported == 1 and check.text.endswith("[1].")
    assert not check_citations("The guide teaches espresso recipes [1].", EVIDENCE, ask=lambda s, e: False).grounded


def test_uncited_claims_get_the_marker_of_their_evidence_and_chinese_is_checked_too() -> None:
    check = check_citations("长城总长度为21196.18千米。大熊猫每天吃12到38公斤竹子[1]。", EVIDENCE)
    assert check.text == "长城总长度为21196.18千米[3]。大熊猫每天吃12到38公斤竹子[3]。"
    assert check.added == 1 and check.recited == 1


def test_a_restated_question_is_no_claim() -> None:
    question = "How often should I change the engine oil?"
    evidence = [ev("Change the engine oil every 5,000 km or once a year.", "motorcycle.mp4")]
    assert not check_citations("How often should I change the engine oil [1]?", evidence, question=question).grounded
    assert not check_citations("You should change the engine oil [1].", evidence, question=question).grounded
    kept = check_citations("Change the engine oil every 5000 km [1].", evidence, question=question)
    assert kept.grounded and kept.text == "Change the engine oil every 5000 km [1]."


def test_an_uncited_claim_nothing_holds_is_removed_and_a_bare_ok_stays() -> None:
    check = check_citations("OK. The water should be 92 to 96 degrees. Grinders cost 120 dollars.", EVIDENCE)
    assert check.text == "OK. The water should be 92 to 96 degrees [2]."
    assert check.removed == ["Grinders cost 120 dollars."]


def test_evidence_about_something_else_does_not_hold_a_claim_about_the_question() -> None:
    question = "What is the price of the red motorcycle in the workshop?"
    evidence = [ev("Rear Admiral Grace Hopper built the first compiler.", "hopper.mp4"),
                ev("The red motorcycle in the workshop gets its chain oiled every 500 km.", "moto.mp4")]
    made_up = "The price of the red motorcycle is Rear Admiral Grace Hopper [1]."
    assert not check_citations(made_up, evidence, question=question).grounded
    held = check_citations("The red motorcycle gets its chain oiled every 500 km [1].", evidence, question=question)
    assert held.text == "The red motorcycle gets its chain oiled every 500 km [2]."


def test_a_proper_name_the_evidence_lacks_means_it_is_about_something_else() -> None:
    question = "In which year did humans first land on Mars?"
    evidence = [ev("In July 1969 Apollo 11 landed the first humans on the Moon.", "space.mp4")]
    assert not check_citations("Humans first landed on Mars in 1969 [1].", evidence, question=question).grounded
    kept = check_citations("Humans first landed on the Moon in 1969 [1].", evidence, question="When did humans "
                           "first land on the Moon?")
    assert kept.grounded and kept.text == "Humans first landed on the Moon in 1969 [1]."
    # a month is a detail, not a name: most words held, the sentence stands
    sputnik = [ev("In 1957 the Soviet Union launched Sputnik, the first artificial satellite.", "space.mp4")]
    assert check_citations("The first satellite was launched in July 1957 by the Soviet Union [1].", sputnik,
                           question="When was the first satellite launched?").grounded
    # a calculation's output holds its sentence without naming the tool that computed it
    done = check_citations("Computed with Python, the total is 14000 eggs.", evidence, results=["total: 14000 eggs"])
    assert done.text == "Computed with Python, the total is 14000 eggs."
