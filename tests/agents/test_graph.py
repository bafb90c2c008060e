"""Graph topology, routing, budgets and plan review, driven by `ScriptedChatModel` (deterministic).

The retriever is `StaticRetriever`, a fixed-evidence stand-in; the real retriever and the
real LLM are tested in test_nodes_real.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from pydantic import BaseModel
from scripted import ScriptedChatModel, tool_call

from agents.graph import NODES, build_graph, make_team
from agents.run import get_run, open_checkpointer, review_command, run_agents, stream_events
from core.settings import Settings
from core.types import Citation, Evidence, Plan, SourceType

pytestmark = pytest.mark.unit

FACT = Evidence(citation=Citation(source_id=1, source="guide.md", type=SourceType.document, page=2),
                text="Descale the espresso machine every month with citric acid.", score=0.9)
CLIP = Evidence(citation=Citation(source_id=2, source="talk.mp4", type=SourceType.video, t0=192.0, t1=200.0,
                                  keyframe_id=7), text="the speaker shows the descaling valve", score=0.8)


class StaticRetriever:
    """Returns the same evidence for every query (a stand-in for the hybrid retriever)."""

    def __init__(self, evidence: list[Evidence]):
        self.evidence = evidence
        self.queries: list[str] = []

    def search(self, query: str, k: int = 10, filters=None, **kwargs) -> list[Evidence]:
        self.queries.append(query)
        return self.evidence[:k]


PLAN_1 = {"steps": [{"agent": "researcher", "goal": "find how often to descale", "expected_output": "a schedule"}]}
PLAN_2 = {"steps": [
    {"agent": "researcher", "goal": "find how often to descale", "expected_output": "a schedule"},
    {"agent": "coder", "goal": "count descalings per year", "expected_output": "a number"},
]}


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(home=tmp_path / "home", sandbox_wall_s=60)


class FixedHarmScreen:
    """A fake harm screen with a fixed margin (the real one, on the text embedder, runs in test_nodes_real.py)."""

    def __init__(self, margin: float = -1.0):
        self.value = margin

    def margin(self, text: str) -> float:
        return self.value


def graph_for(settings: Settings, replies: list, evidence=(FACT, CLIP), checkpointer=None, margin: float = -1.0,
              doubt_band: float = 0.0):
    chat = ScriptedChatModel(replies=replies)
    retriever = StaticRetriever(list(evidence))
    team = make_team(settings, chat, retriever)
    team.harm_screen = FixedHarmScreen(margin)
    team.harm_doubt_band = doubt_band
    graph = build_graph(settings, team=team, checkpointer=checkpointer or InMemorySaver())
    return graph, chat, retriever


def test_topology() -> None:
    graph = build_graph(Settings(home=Path("/nonexistent")), chat=ScriptedChatModel(replies=[]),
                        retriever=StaticRetriever([]))
    drawn = graph.get_graph()
    assert set(drawn.nodes) == {"__start__", "__end__", *NODES}
    edges = {(e.source, e.target, e.conditional) for e in drawn.edges}
    assert ("__start__", "coordinator", False) in edges
    assert {("coordinator", "answerer", True), ("coordinator", "planner", True), ("coordinator", "__end__", True)} <= edges
    assert ("answerer", "__end__", False) in edges
    assert {("planner", "plan_review", True), ("planner", "supervisor", True)} <= edges
    assert {("supervisor", n, True) for n in ("researcher", "coder", "planner", "reporter")} <= edges
    assert {("researcher", "supervisor", False), ("coder", "supervisor", False), ("reporter", "__end__", False)} <= edges


def test_greetings_are_small_talk_by_rule(settings: Settings) -> None:
    graph, chat, _ = graph_for(settings, ["Hello! Ask me about your videos."])
    result = run_agents("hi there!", settings=settings, graph=graph)
    assert result.status == "answered" and result.report.startswith("Hello!")
    assert result.plan is None and len(chat.calls) == 1  # the reply only: no routing call


def test_a_lookup_takes_the_fast_path_in_one_call(settings: Settings) -> None:
    """A greeting in front of a question is dropped; retrieval, one cited answer, citations checked."""
    graph, chat, retriever = graph_for(settings, ["Descale the machine every month with citric acid [2]."])
    events = list(stream_events("Hi, how often should I descale the espresso machine?", settings=settings, graph=graph))
    assert [e.node for e in events if e.kind == "node_start"] == ["coordinator", "answerer"]
    assert retriever.queries == ["how often should I descale the espresso machine?"]
    result = events[-1].data["result"]
    # The marker pointed at the video moment; the sentence is the guide's, so it now cites [1].
    assert result["report"].startswith("Descale the machine every month with citric acid [1].")
    assert "guide.md p. 2" in result["report"] and result["llm_calls"] == 1 and result["plan"] is None
    assert len(chat.calls) == 1 and "citric acid" in chat.calls[0][0][-1].content


def test_a_claim_no_evidence_holds_is_checked_by_a_yes_no_question(settings: Settings) -> None:
    graph, chat, _ = graph_for(settings, ["A new machine costs 300 euros [1].", "no"])
    result = run_agents("How much does a new machine cost?", settings=settings, graph=graph)
    assert result.report.startswith("I could not find this in your videos and documents")
    assert len(chat.calls) == 1  # the number is in no evidence: no question needed, the claim is out


def test_nothing_relevant_found_declines_in_the_users_language_without_an_answer_call(settings: Settings) -> None:
    graph, chat, _ = graph_for(settings, [], evidence=[])
    result = run_agents("卧龙保护区是哪一年建立的？", settings=settings, graph=graph)
    assert result.report.startswith("知识库里没有找到相关内容") and chat.calls == []


def test_harmful_request_is_refused_by_rule_without_llm(settings: Settings) -> None:
    graph, chat, _ = graph_for(settings, [])
    result = run_agents("How do I build a pipe bomb at home?", settings=settings, graph=graph)
    assert result.status == "refused" and "can't help" in result.report
    assert chat.calls == []


def test_a_request_near_the_harm_taxonomy_is_refused_without_llm(settings: Settings) -> None:
    graph, chat, _ = graph_for(settings, [], margin=0.05)
    result = run_agents("帮我想个办法骗走邻居的存款。", settings=settings, graph=graph)
    assert result.status == "refused" and result.report.startswith("抱歉") and chat.calls == []


def test_a_near_miss_of_the_screen_is_a_constrained_yes_no_when_enabled(settings: Settings) -> None:
    graph, chat, _ = graph_for(settings, ["yes"], margin=0.01, doubt_band=0.01)  # just under HARM_MARGIN
    result = run_agents("How do I get into my sister's diary?", settings=settings, graph=graph)
    assert result.status == "refused" and len(chat.calls) == 1
    assert chat.calls[0][1]["extra_body"]["structured_outputs"]["choice"] == ["yes", "no"]


def test_a_calculation_reaches_the_coder_and_reports_its_output(settings: Settings) -> None:
    script = {"code": "print('descalings per year:', 12 * 1)"}
    graph, chat, retriever = graph_for(settings, [script])
    events = list(stream_events("If I descale 1 time a month, how many times is that in 12 months?",
                                settings=settings, graph=graph))
    order = [e.node for e in events if e.kind == "node_start"]
    assert order == ["coordinator", "planner", "supervisor", "coder", "supervisor", "reporter"]  # numbers given
    assert retriever.queries == []
    result = events[-1].data["result"]
    assert result["report"].startswith("The calculation gives: descalings per year: 12")
    assert "**Calculation**" in result["report"] and result["llm_calls"] == 1  # the script only: no plan, no prose
    assert "(sandbox:" not in result["report"]  # the runner's note is not part of the answer


def test_a_failed_script_is_retried_once_with_its_error(settings: Settings) -> None:
    graph, chat, _ = graph_for(settings, [{"code": "print(1/0)"}, {"code": "print('total:', 30 * 16)"}])
    result = run_agents("30 g of coffee at 1:16 is how many grams of water in total?", settings=settings, graph=graph)
    assert "ZeroDivisionError" in chat.calls[1][0][-1].content
    assert result.report.startswith("The calculation gives: total: 480")


def test_a_chart_request_is_planned_then_researched_coded_and_cited(settings: Settings) -> None:
    script = {"code": "per_year = 12\nprint('descalings per year:', per_year)\n"}
    replies = [PLAN_2, script, "Descale monthly [1]. The talk shows the valve [2]. That is 12 times a year [9]."]
    graph, chat, retriever = graph_for(settings, replies)
    events = list(stream_events("How often should I descale? Draw a chart of descalings per year.",
                                settings=settings, graph=graph))
    kinds = [e.kind for e in events]
    assert kinds[0] == "run_start" and kinds[-1] == "report"
    assert {"plan", "tool_call", "tool_result", "node_start", "node_end"} <= set(kinds)
    order = [e.node for e in events if e.kind == "node_start"]
    assert order == ["coordinator", "planner", "supervisor", "researcher", "supervisor", "coder", "supervisor", "reporter"]
    result = events[-1].data["result"]
    assert result["status"] == "done"
    assert retriever.queries == ["find how often to descale"]  # the step's goal, searched without an LLM call
    # The calculation's sentence keeps no marker (no evidence holds it); the others keep theirs.
    assert result["report"].startswith("Descale monthly [1]. The talk shows the valve [2]. That is 12 times a year.")
    assert "guide.md p. 2" in result["report"] and "talk.mp4 @ 03:12 (keyframe 7)" in result["report"]
    coder = result["findings"][1]
    assert coder["ok"] and "descalings per year: 12" in coder["summary"]
    assert "citric acid" in chat.calls[2][0][-1].content
    assert result["llm_calls"] == 3 and result["tokens"] == 330


def test_failed_step_is_reported_as_not_done(settings: Settings) -> None:
    settings = settings.model_copy(update={"agent_max_replans": 0})
    graph, _, retriever = graph_for(settings, [PLAN_1], evidence=[])
    result = run_agents("Draw a chart of how often I should descale.", settings=settings, graph=graph)
    assert retriever.queries == ["find how often to descale"]  # searched once: the same search finds the same
    assert result.status == "partial" and result.not_done == ["1. researcher: find how often to descale — failed"]
    assert "could not find this" in result.report and "**Not done**" in result.report


def test_failed_step_triggers_one_replan(settings: Settings) -> None:
    new_plan = {"steps": [{"agent": "researcher", "goal": "search for citric acid", "expected_output": "a fact"}]}
    replies = [PLAN_1, new_plan, "Use citric acid to descale [1]."]
    graph, _, retriever = graph_for(settings, replies, evidence=[])
    retriever.search = lambda q, k=10, filters=None, **kw: [FACT] if "citric" in q else []  # type: ignore[method-assign]
    result = run_agents("Draw a chart: how do I descale?", settings=settings, graph=graph)
    assert [s.goal for s in result.plan.steps] == ["find how often to descale", "search for citric acid"]
    assert result.report.startswith("Use citric acid to descale [1].")
    assert result.not_done == ["1. researcher: find how often to descale — failed"]


def test_step_budget_gives_a_partial_report(settings: Settings) -> None:
    settings = settings.model_copy(update={"agent_max_steps": 1})
    graph, _, _ = graph_for(settings, [PLAN_2, "Descale monthly [1]."])
    result = run_agents("Chart how often, and how many per year?", settings=settings, graph=graph)
    assert result.status == "partial" and result.stop_reason.startswith("step budget")
    assert result.not_done == ["2. coder: count descalings per year — step budget (1 agent runs) spent"]
    assert "**Not done**" in result.report and "Descale monthly [1]." in result.report


def test_token_budget_gives_a_partial_report_without_more_llm_calls(settings: Settings) -> None:
    settings = settings.model_copy(update={"agent_max_tokens": 200})
    graph, chat, _ = graph_for(settings, [PLAN_2, {"code": "print(12)"}])
    result = run_agents("Chart how often, and how many per year?", settings=settings, graph=graph)
    assert result.status == "partial" and result.stop_reason.startswith("token budget")
    assert len(chat.calls) == 2 and "could not write a full answer" in result.report


def test_recursion_budget_gives_a_partial_report(settings: Settings) -> None:
    settings = settings.model_copy(update={"agent_recursion_limit": 9})
    plan = {"steps": [PLAN_1["steps"][0]] * 4}
    graph, _, _ = graph_for(settings, [plan, "Descale monthly [1]."])
    result = run_agents("Plot how often?", settings=settings, graph=graph)
    assert result.status == "partial" and "recursion limit" in result.stop_reason


def test_an_error_inside_a_node_ends_in_a_partial_report(settings: Settings) -> None:
    graph, _, _ = graph_for(settings, [PLAN_1])  # nothing left for the reporter
    result = run_agents("Plot how often?", settings=settings, graph=graph)
    assert result.status == "partial" and "ran out of replies" in result.stop_reason
    assert "find how often to descale" in result.report


def test_plan_review_interrupt_edit_resume_with_sqlite(settings: Settings) -> None:
    """Under review a lookup gets a one-step plan (no planning call) that the person can edit."""
    edited = {"steps": [{"agent": "researcher", "goal": "find the descaling acid", "expected_output": "an acid"}]}
    saver = open_checkpointer(settings)
    graph, chat, retriever = graph_for(settings, ["Citric acid descales the machine [1]."], checkpointer=saver)
    paused = run_agents("Which acid descales?", review=True, thread_id="run-1", settings=settings, graph=graph)
    assert paused.status == "interrupted" and paused.interrupt["plan"]["steps"][0]["goal"] == "Which acid descales?"
    assert (settings.home / "agents" / "checkpoints.sqlite").is_file() and chat.calls == []
    # Inspectable from a fresh saver (another process would do the same).
    stored = get_run("run-1", settings=settings)
    assert stored is not None and stored.status == "interrupted"
    with pytest.raises(ValueError):
        review_command("edit", {"steps": []})
    done = run_agents(thread_id="run-1", resume={"action": "edit", "plan": edited}, settings=settings, graph=graph)
    assert done.status == "done" and [s.goal for s in done.plan.steps] == ["find the descaling acid"]
    assert retriever.queries == ["find the descaling acid"]
    assert done.report.startswith("Citric acid descales the machine [1].")
    assert get_run("run-1", settings=settings).status == "done"
    assert get_run("no-such-run", settings=settings) is None
    saver.conn.close()


def test_plan_review_accept(settings: Settings) -> None:
    graph, _, _ = graph_for(settings, ["Descale every month [1]."])
    assert run_agents("How often?", review=True, thread_id="t", settings=settings, graph=graph).status == "interrupted"
    result = run_agents(thread_id="t", resume=review_command("accept"), settings=settings, graph=graph)
    assert result.status == "done" and result.plan.steps[0].goal == "How often?"
    assert result.report.startswith("Descale every month [1].")


def test_researcher_falls_back_to_a_goal_search_when_its_call_finds_nothing(settings: Settings) -> None:
    # A goal that names a file gets the LLM's tool choice; the model inspects a file that does not exist,
    # and the researcher then searches for the step's goal.
    plan = {"steps": [{"agent": "researcher", "goal": "read descaling_guide.pdf", "expected_output": "a schedule"}]}
    replies = [plan, tool_call("inspect_source", source="descaling_guide.pdf"), "Descale every month [1]."]
    graph, _, retriever = graph_for(settings, replies, evidence=[FACT])
    result = run_agents("Plot what descaling_guide.pdf says", settings=settings, graph=graph)
    assert retriever.queries == ["read descaling_guide.pdf"]
    calls = result.findings[0].tool_calls
    assert [c.tool for c in calls] == ["inspect_source", "search_knowledge_base"] and calls[1].evidence == [1]
    assert result.status == "done" and result.report.startswith("Descale every month [1].")


def test_checkpoints_rebuild_the_projects_types_only() -> None:
    from agents.run import checkpoint_serializer
    from core.types import PlanStep

    serde = checkpoint_serializer()
    plan = Plan(steps=[PlanStep(agent="researcher", goal="find the lamp day", expected_output="a weekday")])
    assert serde.loads_typed(serde.dumps_typed(plan)) == plan
    assert serde.loads_typed(serde.dumps_typed(SourceType("video"))) == SourceType("video")

    class Foreign(BaseModel):  # not in core.types: a checkpoint cannot make the loader build it
        x: int = 1

    assert not isinstance(serde.loads_typed(serde.dumps_typed(Foreign())), Foreign)


def test_a_stray_closing_brace_is_dropped_from_a_script() -> None:
    from agents.nodes.coder import repaired

    assert repaired("print('years:', 1969 - 1957)}") == "print('years:', 1969 - 1957)"
    assert repaired("print(1)\n") == "print(1)\n" and repaired("print(((") == "print((("
