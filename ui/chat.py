"""Chat page: streamed, cited answers (quick RAG or the agent team), citation chips, the agent trace
and plan review.

Session state: `messages` (the conversation), `open_citation` ((message, citation) shown in the
viewer), `pending_review` (an agent run paused for its plan review).
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from core.types import Citation
from ui.client import ApiError, ArgusClient
from ui.common import api, api_error, show_citation, unreachable

AGENT_STATUS_NOTE = {"refused": "The team declined this question.", "clarify": "The team asks for a clarification.",
                     "partial": "The run stopped before every step was done."}


def main() -> None:
    st.title("Ask your videos and documents")
    client = api()
    if not client.healthy():
        unreachable(client)
        return
    state = st.session_state
    state.setdefault("messages", [])
    with st.sidebar:
        agents = st.toggle("Agent team", key="use_agents",
                           help="Off: one quick retrieval-augmented answer. On: the planner, researcher, coder and "
                                "reporter work the question through (slower, for multi-step questions).")
        review = st.toggle("Review the plan", key="review_plan", disabled=not agents,
                           help="Pause after planning so you can accept or edit the plan.")
        if st.button("Clear the conversation", icon=":material/delete_sweep:"):
            state.messages, state.pending_review, state.open_citation = [], None, None
    for index, message in enumerate(state.messages):
        show_message(index, message)
    if state.get("pending_review"):
        plan_review(client, state.pending_review)
    question = st.chat_input("Ask a question about your videos and documents",
                             disabled=bool(state.get("pending_review")))
    if question:
        state.messages.append({"role": "user", "text": question})
        with st.chat_message("user"):
            st.markdown(question)
        with st.chat_message("assistant"):
            try:
                reply = agent_answer(client, question, review) if agents else quick_answer(client, question)
            except ApiError as exc:
                api_error(exc)
                return
        if reply is not None:
            state.messages.append(reply)
        st.rerun()


# ---------------------------------------------------------------- one message


def show_message(index: int, message: dict) -> None:
    with st.chat_message(message["role"]):
        st.markdown(message["text"])
        citations = message.get("citations") or []
        if citations:
            citation_chips(index, citations)
        if message.get("trace"):
            agent_trace(message["trace"])


def citation_chips(index: int, citations: list[dict]) -> None:
    columns = st.columns(min(len(citations), 4))
    for n, citation in enumerate(citations):
        media = citation.get("t0") is not None
        with columns[n % len(columns)]:
            st.button(f"[{n + 1}] {citation['label']}", key=f"chip-{index}-{n}",
                      icon=":material/play_circle:" if media else ":material/description:",
                      on_click=_open_citation, args=(index, n), help=citation["text"][:200])
    opened = st.session_state.get("open_citation")
    if opened and opened[0] == index and opened[1] < len(citations):
        show_citation(citations[opened[1]])


def _open_citation(index: int, n: int) -> None:
    st.session_state.open_citation = (index, n)


# ---------------------------------------------------------------- quick answers


def quick_answer(client: ArgusClient, question: str) -> dict:
    """Stream `/v1/ask`: tokens as they come, then the checked answer with its citations."""
    final: dict[str, Any] = {}

    def tokens():
        for ev in client.ask_stream(question):
            if ev.event == "token":
                yield ev.data["text"]
            elif ev.event == "answer":
                final.update(ev.data)
            elif ev.event == "error":
                final["error"] = ev.data.get("detail", "the LLM failed")

    with st.spinner("Searching…"):
        st.write_stream(tokens())
    if "error" in final:
        return {"role": "assistant", "text": f"⚠️ {final['error']}", "citations": []}
    return {"role": "assistant", "text": final.get("text", ""), "citations": final.get("citations", []),
            "mode": "rag"}


# ---------------------------------------------------------------- the agent team


def agent_answer(client: ArgusClient, question: str, review: bool) -> dict | None:
    run = client.start_run(question, review=review)
    return follow_run(client, run["run_id"], question, trace=[], after=None)


def follow_run(client: ArgusClient, run_id: str, question: str, trace: list[dict], after: str | None) -> dict | None:
    """Follow a run's events until its report (a message) or its plan review (None: the review waits)."""
    progress = st.status("The agent team is working…", expanded=False)
    text_box = st.empty()
    streamed = ""
    for ev in client.run_events(run_id, after=after):
        event = ev.data
        trace.append(event)
        after = ev.id
        if ev.event == "node_start":
            progress.update(label=f"{event['node']} at work… ({event['t']:.0f} s)")
        elif ev.event == "token" and event.get("node") == "reporter":
            streamed += event["data"].get("text", "")
            text_box.markdown(streamed)
        elif ev.event == "interrupt":
            progress.update(label="The plan awaits your review", state="complete")
            result = event["data"]["result"]
            plan = (result.get("interrupt") or {}).get("plan") or result.get("plan") or {"steps": []}
            st.session_state.pending_review = {"run_id": run_id, "question": question, "plan": plan,
                                               "trace": trace, "after": after}
            return None
        elif ev.event == "report":
            progress.update(label="Done", state="complete")
            return agent_message(event["data"]["result"], trace)
        elif ev.event == "error":
            progress.update(label="The run failed", state="error")
            return {"role": "assistant", "text": f"⚠️ the agent run failed ({event['data'].get('error')})",
                    "trace": trace}
    progress.update(label="The event stream ended early", state="error")
    return {"role": "assistant", "text": "⚠️ the event stream ended before the report", "trace": trace}


def agent_message(result: dict, trace: list[dict]) -> dict:
    text = result.get("report") or "(no report)"
    note = AGENT_STATUS_NOTE.get(result.get("status", ""))
    if note:
        text = f"*{note}*\n\n{text}"
    return {"role": "assistant", "text": text, "mode": "agents", "trace": trace,
            "citations": [evidence_citation(e) for e in result.get("evidence", [])]}


def evidence_citation(evidence: dict) -> dict:
    """An `Evidence` of an agent result in the flat shape `/v1/ask` gives its citations."""
    c = evidence["citation"]
    return {**c, "label": Citation.model_validate(c).label(), "text": evidence.get("text", "")}


def plan_review(client: ArgusClient, pending: dict) -> None:
    with st.chat_message("assistant"):
        st.markdown("**The planner proposes this plan.** Accept it, or edit the steps and run your version.")
        steps = st.data_editor(
            pending["plan"].get("steps", []), key=f"plan-{pending['run_id']}", num_rows="dynamic",
            column_config={"agent": st.column_config.SelectboxColumn("agent", options=["researcher", "coder"],
                                                                     required=True),
                           "goal": st.column_config.TextColumn("goal", required=True),
                           "expected_output": st.column_config.TextColumn("expected output")},
            hide_index=True)
        accept, edit = st.columns(2)
        action = None
        if accept.button("Accept the plan", key="plan-accept", type="primary", icon=":material/check:"):
            action, plan = "accept", None
        if edit.button("Run the edited plan", key="plan-edit", icon=":material/edit:"):
            action, plan = "edit", {"steps": [{**s, "expected_output": s.get("expected_output") or ""}
                                              for s in steps if s.get("goal")]}
        if action is None:
            return
        try:
            client.review_plan(pending["run_id"], action, plan)
        except ApiError as exc:
            api_error(exc)
            return
        st.session_state.pending_review = None
        reply = follow_run(client, pending["run_id"], pending["question"], pending["trace"], pending["after"])
    if reply is not None:
        st.session_state.messages.append(reply)
    st.rerun()


def agent_trace(trace: list[dict]) -> None:
    """Plan, steps with their timings, tool calls: what the team did, in order."""
    with st.expander("Agent trace"):
        plans = [e for e in trace if e["kind"] == "plan"]
        if plans:
            st.markdown("**Plan**")
            st.markdown("\n".join(f"{i}. *{s['agent']}*: {s['goal']}"
                                  for i, s in enumerate(plans[-1]["data"]["plan"]["steps"], 1)))
        lines = []
        for e in trace:
            at = f"`{e['t']:6.1f} s`"
            data = e.get("data", {})
            if e["kind"] == "node_end":
                extra = f", {data['llm_calls']} LLM calls" if data.get("llm_calls") else ""
                lines.append(f"- {at} **{e['node']}** took {data.get('seconds', 0):.1f} s{extra}")
            elif e["kind"] == "tool_call":
                args = ", ".join(f"{k}={v!r}"[:80] for k, v in (data.get("args") or {}).items())
                lines.append(f"- {at} {e['node']} → tool `{data.get('tool')}`({args})")
            elif e["kind"] == "tool_result":
                lines.append(f"- {at} ← {str(data.get('result') or data.get('summary') or '')[:160]}")
            elif e["kind"] == "error":
                lines.append(f"- {at} error: {data.get('error')}")
        st.markdown("**Steps**\n\n" + ("\n".join(lines) or "(no steps)"))
