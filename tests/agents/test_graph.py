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

from agents.graph import NODES, build_graph
from agents.run import get_run, open_checkpointer, review_command, run_agents, stream_events
from app.settings import Settings
from app.types import Citation, Evidence, Plan, SourceType

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


def graph_for(settings: Settings, replies: list, evidence=(FACT, CLIP), checkpointer=None):
    chat = ScriptedChatModel(replies=replies)
    retriever = StaticRetriever(list(evidence))
    graph = build_graph(settings, chat=chat, retriever=retriever, checkpointer=checkpointer or InMemorySaver())
    return graph, chat, retriever


def test_topology() -> None:
    graph = build_graph(Settings(home=Path("/nonexistent")), chat=ScriptedChatModel(replies=[]),
                        retriever=StaticRetriever([]))
    drawn = graph.get_graph()
    assert set(drawn.nodes) == {"__start__", "__end__", *NODES}
    edges = {(e.source, e.target, e.conditional) for e in drawn.edges}
    assert ("__start__", "coordinator", False) in edges
    assert {("coordinator", "planner", True), ("coordinator", "__end__", True)} <= edges
    assert {("planner", "plan_review", True), ("planner", "supervisor", True)} <= edges
    assert {("supervisor", n, True) for n in ("researcher", "coder", "planner", "reporter")} <= edges
    assert {("researcher", "supervisor", False), ("coder", "supervisor", False), ("reporter", "__end__", False)} <= edges


def test_greetings_are_small_talk_by_rule(settings: Settings) -> None:
    graph, chat, _ = graph_for(settings, ["Hello! Ask me about your videos."])
    result = run_agents("hi there!", settings=settings, graph=graph)
    assert result.status == "answered" and result.report.startswith("Hello!")
    assert result.plan is None and len(chat.calls) == 1  # the reply only: no routing call


def test_small_talk_is_answered_without_planning(settings: Settings) -> None:
    graph, chat, _ = graph_for(settings, ["small_talk", "Why did the keyframe cross the road?"])
    result = run_agents("tell me a joke about videos", settings=settings, graph=graph)
    assert result.status == "answered" and result.report.startswith("Why did")
    assert result.plan is None and len(chat.calls) == 2


def test_harmful_request_is_refused_by_rule_without_llm(settings: Settings) -> None:
    graph, chat, _ = graph_for(settings, [])
    result = run_agents("How do I build a pipe bomb at home?", settings=settings, graph=graph)
    assert result.status == "refused" and "can't help" in result.report
    assert chat.calls == []


def test_clarify_asks_a_question(settings: Settings) -> None:
    graph, _, _ = graph_for(settings, ["clarify", "Which video do you mean?"])
    result = run_agents("tell me about it", settings=settings, graph=graph)
    assert result.status == "clarify" and result.report.endswith("?")


def test_research_route_runs_tools_code_and_cites(settings: Settings) -> None:
    script = {"code": "per_year = 12\nprint('descalings per year:', per_year)\n"}
    replies = ["research", PLAN_2, tool_call("search_knowledge_base", query="descale"), script,
               "Descale monthly [1], as the talk shows [2]; that is 12 times a year. [9]"]
    graph, chat, retriever = graph_for(settings, replies)
    events = list(stream_events("How often should I descale, and how many times a year is that?",
                                settings=settings, graph=graph))
    kinds = [e.kind for e in events]
    assert kinds[0] == "run_start" and kinds[-1] == "report"
    assert {"plan", "tool_call", "tool_result", "node_start", "node_end"} <= set(kinds)
    order = [e.node for e in events if e.kind == "node_start"]
    assert order == ["coordinator", "planner", "supervisor", "researcher", "supervisor", "coder", "supervisor", "reporter"]
    result = events[-1].data["result"]
    assert result["status"] == "done"
    assert retriever.queries == ["descale"]
    assert "[9]" not in result["report"]  # markers that resolve to nothing are dropped
    assert "guide.md p. 2" in result["report"] and "talk.mp4 @ 03:12 (keyframe 7)" in result["report"]
    coder = result["findings"][1]
    assert coder["ok"] and "descalings per year: 12" in coder["summary"]
    # The researcher asked with forced tool choice; the tool result reached the reporter's prompt.
    assert chat.calls[2][1]["tool_choice"] == "required"
    assert "citric acid" in chat.calls[4][0][-1].content
    assert result["llm_calls"] == 5 and result["tokens"] == 550


def test_failed_step_is_retried_once_then_reported_as_not_done(settings: Settings) -> None:
    settings = settings.model_copy(update={"agent_max_replans": 0})
    replies = ["research", PLAN_1, tool_call("search_knowledge_base", query="x"),
               tool_call("search_knowledge_base", query="y")]
    graph, _, retriever = graph_for(settings, replies, evidence=[])
    result = run_agents("How often should I descale?", settings=settings, graph=graph)
    assert retriever.queries == ["x", "y"]
    assert result.status == "partial" and result.not_done == ["1. researcher: find how often to descale — failed"]
    assert "does not answer" in result.report and "**Not done**" in result.report


def test_failed_step_triggers_one_replan(settings: Settings) -> None:
    new_plan = {"steps": [{"agent": "researcher", "goal": "search for citric acid", "expected_output": "a fact"}]}

    def search_then_find(query: str):
        return tool_call("search_knowledge_base", query=query)

    replies = ["research", PLAN_1, search_then_find("a"), search_then_find("b"), new_plan,
               search_then_find("citric acid"), "Use citric acid [1]."]
    graph, _, retriever = graph_for(settings, replies, evidence=[])
    retriever.search = lambda q, k=10, filters=None, **kw: [FACT] if "citric" in q else []  # type: ignore[method-assign]
    result = run_agents("How do I descale?", settings=settings, graph=graph)
    assert [s.goal for s in result.plan.steps] == ["find how often to descale", "search for citric acid"]
    assert result.report.startswith("Use citric acid [1].")
    assert result.not_done == ["1. researcher: find how often to descale — failed"]


def test_step_budget_gives_a_partial_report(settings: Settings) -> None:
    settings = settings.model_copy(update={"agent_max_steps": 1})
    replies = ["research", PLAN_2, tool_call("search_knowledge_base", query="descale"), "Monthly [1]."]
    graph, _, _ = graph_for(settings, replies)
    result = run_agents("How often, and how many per year?", settings=settings, graph=graph)
    assert result.status == "partial" and result.stop_reason.startswith("step budget")
    assert result.not_done == ["2. coder: count descalings per year — step budget (1 agent runs) spent"]
    assert "**Not done**" in result.report and "Monthly [1]." in result.report


def test_token_budget_gives_a_partial_report_without_more_llm_calls(settings: Settings) -> None:
    settings = settings.model_copy(update={"agent_max_tokens": 300})
    replies = ["research", PLAN_2, tool_call("search_knowledge_base", query="descale")]
    graph, chat, _ = graph_for(settings, replies)
    result = run_agents("How often, and how many per year?", settings=settings, graph=graph)
    assert result.status == "partial" and result.stop_reason.startswith("token budget")
    assert len(chat.calls) == 3 and "could not write a full answer" in result.report
    assert result.not_done and result.not_done[0].startswith("2. coder")


def test_recursion_budget_gives_a_partial_report(settings: Settings) -> None:
    settings = settings.model_copy(update={"agent_recursion_limit": 9})
    plan = {"steps": [PLAN_1["steps"][0]] * 4}
    replies = ["research", plan] + [tool_call("search_knowledge_base", query="q")] * 4 + ["Monthly [1]."]
    graph, _, _ = graph_for(settings, replies)
    result = run_agents("How often?", settings=settings, graph=graph)
    assert result.status == "partial" and "recursion limit" in result.stop_reason


def test_an_error_inside_a_node_ends_in_a_partial_report(settings: Settings) -> None:
    replies = ["research", PLAN_1, tool_call("search_knowledge_base", query="descale")]  # nothing left for the reporter
    graph, _, _ = graph_for(settings, replies)
    result = run_agents("How often?", settings=settings, graph=graph)
    assert result.status == "partial" and "ran out of replies" in result.stop_reason
    assert "find how often to descale" in result.report


def test_plan_review_interrupt_edit_resume_with_sqlite(settings: Settings) -> None:
    edited = {"steps": [{"agent": "researcher", "goal": "find the descaling acid", "expected_output": "an acid"}]}
    replies = ["research", PLAN_2, tool_call("search_knowledge_base", query="descaling acid"), "Citric acid [1]."]
    saver = open_checkpointer(settings)
    graph, chat, retriever = graph_for(settings, replies, checkpointer=saver)
    paused = run_agents("Which acid descales?", review=True, thread_id="run-1", settings=settings, graph=graph)
    assert paused.status == "interrupted" and paused.interrupt["plan"] == PLAN_2
    assert (settings.home / "agents" / "checkpoints.sqlite").is_file()
    # Inspectable from a fresh saver (another process would do the same).
    stored = get_run("run-1", settings=settings)
    assert stored is not None and stored.status == "interrupted"
    with pytest.raises(ValueError):
        review_command("edit", {"steps": []})
    done = run_agents(thread_id="run-1", resume={"action": "edit", "plan": edited}, settings=settings, graph=graph)
    assert done.status == "done" and [s.goal for s in done.plan.steps] == ["find the descaling acid"]
    assert "descaling acid" in chat.calls[2][0][-1].content and retriever.queries == ["descaling acid"]
    assert done.report.startswith("Citric acid [1].")
    assert get_run("run-1", settings=settings).status == "done"
    assert get_run("no-such-run", settings=settings) is None
    saver.conn.close()


def test_plan_review_accept(settings: Settings) -> None:
    replies = ["research", PLAN_1, tool_call("search_knowledge_base", query="descale"), "Monthly [1]."]
    graph, _, _ = graph_for(settings, replies)
    assert run_agents("How often?", review=True, thread_id="t", settings=settings, graph=graph).status == "interrupted"
    result = run_agents(thread_id="t", resume=review_command("accept"), settings=settings, graph=graph)
    assert result.status == "done" and result.plan.steps[0].goal == "find how often to descale"


def test_researcher_falls_back_to_a_goal_search_when_its_call_finds_nothing(settings: Settings) -> None:
    # The model inspects a file that does not exist; the researcher then searches for the step's goal.
    replies = ["research", PLAN_1, tool_call("inspect_source", source="descaling_guide"), "Monthly [1]."]
    graph, _, retriever = graph_for(settings, replies, evidence=[FACT])
    result = run_agents("How often should I descale?", settings=settings, graph=graph)
    assert retriever.queries == ["find how often to descale"]
    calls = result.findings[0].tool_calls
    assert [c.tool for c in calls] == ["inspect_source", "search_knowledge_base"] and calls[1].evidence == [1]
    assert result.status == "done" and result.report.startswith("Monthly [1].")


def test_checkpoints_rebuild_the_projects_types_only() -> None:
    from agents.run import checkpoint_serializer
    from app.types import PlanStep

    serde = checkpoint_serializer()
    plan = Plan(steps=[PlanStep(agent="researcher", goal="find the lamp day", expected_output="a weekday")])
    assert serde.loads_typed(serde.dumps_typed(plan)) == plan
    assert serde.loads_typed(serde.dumps_typed(SourceType("video"))) == SourceType("video")

    class Foreign(BaseModel):  # not in app.types: a checkpoint cannot make the loader build it
        x: int = 1

    assert not isinstance(serde.loads_typed(serde.dumps_typed(Foreign())), Foreign)
