"""`<think>` stripping and the ```json tool-call fallback parser, on hand-made strings."""

from __future__ import annotations

import pytest
from langchain_core.messages import AIMessage

from models.llm.client import _clean_message
from models.llm.parsing import ThinkStripper, parse_tool_calls, strip_think

pytestmark = pytest.mark.unit

WEATHER_TOOL = [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("<think>plan it\nstep 2</think>\n\nThe answer is 4.", "The answer is 4."),
        ("Before <think>x</think>after", "Before after"),
        ("<think>a</think>one <think>b</think>two", "one two"),
        ("Answer. <think>cut off mid-thou", "Answer."),
        ("no tags at all", "no tags at all"),
    ],
)
def test_strip_think(text: str, expected: str) -> None:
    assert strip_think(text) == expected


@pytest.mark.parametrize("size", [1, 2, 3, 5, 7, 100])
def test_think_stripper_handles_tags_split_across_pieces(size: int) -> None:
    text = "<think>hidden\nreasoning</think>\n\nVisible <b>answer</b> with a < sign.<think>more</think> End."
    pieces = [text[i:i + size] for i in range(0, len(text), size)]
    stripper = ThinkStripper()
    out = "".join(stripper.feed(p) for p in pieces) + stripper.flush()
    assert out == "Visible <b>answer</b> with a < sign.End."


def test_think_stripper_drops_an_unfinished_block() -> None:
    stripper = ThinkStripper()
    assert stripper.feed("Hi. <thi") == "Hi. "
    assert stripper.feed("nk>never closed") == ""
    assert stripper.flush() == ""


def test_fenced_json_block_becomes_a_tool_call() -> None:
    text = 'Sure.\n```json\n{\n  "name": "get_weather",\n  "arguments": {\n    "city": "Paris"\n  }\n}\n```'
    calls, rest = parse_tool_calls(text, ["get_weather"])
    assert [(c["name"], c["args"]) for c in calls] == [("get_weather", {"city": "Paris"})]
    assert calls[0]["id"].startswith("call_")
    assert rest == "Sure."


def test_variants_hermes_tags_lists_parameters_and_string_arguments() -> None:
    tagged = '<tool_call>\n{"name": "a", "arguments": {"x": 1}}\n</tool_call>'
    assert [c["args"] for c in parse_tool_calls(tagged)[0]] == [{"x": 1}]
    listed = '```\n[{"name": "a", "parameters": {"x": 1}}, {"name": "b", "arguments": "{\\"y\\": 2}"}]\n```'
    assert [(c["name"], c["args"]) for c in parse_tool_calls(listed)[0]] == [("a", {"x": 1}), ("b", {"y": 2})]
    calls, rest = parse_tool_calls('{"name": "a", "arguments": {}}')
    assert [(c["name"], c["args"]) for c in calls] == [("a", {})] and rest == ""


def test_json_that_is_not_a_call_to_a_bound_tool_stays_text() -> None:
    data = '```json\n{"city": "Paris", "temperature": 21}\n```'
    assert parse_tool_calls(data, ["get_weather"]) == ([], data)
    other_tool = '```json\n{"name": "delete_everything", "arguments": {}}\n```'
    assert parse_tool_calls(other_tool, ["get_weather"]) == ([], other_tool)
    broken = '```json\n{"name": "get_weather", "arguments": {\n```'
    assert parse_tool_calls(broken, ["get_weather"]) == ([], broken)


def test_clean_message_applies_both_and_respects_tool_choice_none() -> None:
    reply = AIMessage('<think>call the tool</think>```json\n{"name": "get_weather", "arguments": {"city": "Oslo"}}\n```')
    cleaned = _clean_message(reply, WEATHER_TOOL, "auto")
    assert cleaned.tool_calls[0]["args"] == {"city": "Oslo"} and cleaned.content == ""
    untouched = _clean_message(reply, WEATHER_TOOL, "none")
    assert untouched.tool_calls == [] and untouched.content.startswith("```json")
    assert _clean_message(reply, None, None).tool_calls == []
