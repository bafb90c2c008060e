"""Chat page (Streamlit AppTest) against the real API and LLM engine: a streamed quick answer with
citation chips (a document one shows its text, a video one opens the player at its second with
the keyframe), and the agent team with plan review and its trace."""

from __future__ import annotations

import pytest
from api_base import MARKDOWN_FACT

pytestmark = pytest.mark.integration


def ask(at, question: str):
    at.chat_input[0].set_value(question).run()
    assert not at.exception and not at.error
    return at.session_state["messages"]


def chip_of(at, message_index: int, citations: list[dict], source: str):
    n = next(i for i, c in enumerate(citations) if c["source"] == source)
    return citations[n], at.button(key=f"chip-{message_index}-{n}")


def test_quick_answer_with_citation_chips(page, llm_engine) -> None:
    at = page("chat", timeout=600).run()
    assert not at.exception
    messages = ask(at, "How often does the lighthouse keeper polish the brass lens?")
    answer = messages[-1]
    assert answer["role"] == "assistant" and answer["text"] and answer["citations"]
    assert answer["text"] in "\n".join(m.value for m in at.markdown)

    citation, chip = chip_of(at, 1, answer["citations"], "lighthouse.md")
    assert chip.label.startswith("[") and "lighthouse.md" in chip.label
    chip.click().run()
    assert MARKDOWN_FACT in "\n".join(m.value for m in at.markdown)  # the document passage
    assert not at.get("video")

    messages = ask(at, "What did the speaker say, ask not what your country can do?")
    citation, chip = chip_of(at, 3, messages[-1]["citations"], "speech.mp4")
    chip.click().run()
    assert not at.exception
    video = at.get("video")
    assert len(video) == 1 and video[0].proto.start_time == int(citation["t0"])
    assert at.get("image") and "keyframe at" in at.get("image")[0].proto.imgs[0].caption


def test_agent_team_with_plan_review_and_trace(page, llm_engine) -> None:
    at = page("chat", timeout=900).run()
    at.toggle(key="use_agents").set_value(True).run()
    at.toggle(key="review_plan").set_value(True).run()
    ask(at, "When is the lighthouse lamp cleaned?")  # a lookup: under plan review it gets a one-step plan
    pending = at.session_state["pending_review"] if "pending_review" in at.session_state else None
    assert pending and pending["plan"]["steps"], at.session_state["messages"][-1]  # paused for the plan review
    assert at.button(key="plan-accept") and at.button(key="plan-edit")

    at.button(key="plan-accept").click().run()
    assert not at.exception and not at.error
    assert at.session_state["pending_review"] is None
    reply = at.session_state["messages"][-1]
    # The base's fact (tests/api_base.py: the lens is polished every Tuesday at dawn), cited.
    assert reply.get("mode") == "agents" and "tuesday" in reply["text"].lower() and "[1]" in reply["text"], \
        (reply["text"], reply.get("trace", [])[-3:])
    kinds = [e["kind"] for e in reply["trace"]]
    assert kinds[0] == "run_start" and "plan" in kinds and "interrupt" in kinds and kinds[-1] == "report"
    trace = next(e for e in at.expander if e.label == "Agent trace")
    shown = "\n".join(m.value for m in trace.markdown)
    assert "**Plan**" in shown and "took" in shown


EDITED_GOAL = "Find how many quince trees grow in the orchard on Mill Road."


def test_agent_team_runs_the_edited_plan(page, llm_engine) -> None:
    """Plan review → edit the table (one researcher step with a new goal, the other rows deleted)
    → *Run the edited plan*: the run resumes with that plan, not the planner's."""
    at = page("chat", timeout=900).run()
    at.toggle(key="use_agents").set_value(True).run()
    at.toggle(key="review_plan").set_value(True).run()
    ask(at, "When is the lighthouse lamp cleaned?")
    pending = at.session_state["pending_review"] if "pending_review" in at.session_state else None
    assert pending and pending["plan"]["steps"], at.session_state["messages"][-1]
    proposed = pending["plan"]["steps"]
    editor = next(e for e in at.data_editor if e.key == f"plan-{pending['run_id']}")
    assert list(editor.value["goal"]) == [s["goal"] for s in proposed]

    # What the browser's table sends: cell edits on row 0, the other rows deleted.
    at.session_state[f"plan-{pending['run_id']}"] = {
        "edited_rows": {0: {"agent": "researcher", "goal": EDITED_GOAL, "expected_output": "the number of trees"}},
        "added_rows": [], "deleted_rows": list(range(1, len(proposed)))}
    at.button(key="plan-edit").click().run()
    assert not at.exception and not at.error
    assert at.session_state["pending_review"] is None
    reply = at.session_state["messages"][-1]
    assert reply["mode"] == "agents" and reply["text"]
    report = reply["trace"][-1]
    assert report["kind"] == "report"
    result = report["data"]["result"]
    assert result["plan"]["steps"] == [{"agent": "researcher", "goal": EDITED_GOAL,
                                        "expected_output": "the number of trees"}]
    assert result["findings"] and {f["goal"] for f in result["findings"]} == {EDITED_GOAL}  # only the edited step ran
    assert any(c["source"] == "orchard.txt" for c in reply["citations"]), reply["citations"]
