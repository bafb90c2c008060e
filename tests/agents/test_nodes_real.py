"""Every node on the real engine (vLLM, Qwen2.5-Coder-0.5B-Instruct on the CPU) and a real base.

The base is two small documents with distinct facts, ingested into a temporary ARGUS_HOME;
completions are kept short (every token costs ~0.15 s on 2 cores).
"""

from __future__ import annotations

import pytest
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph
from llm_engine_fixture import llm_engine  # noqa: F401
from small_docs import write_docs

from agents.graph import build_graph, make_team
from agents.intent import HARM_MARGIN
from agents.nodes.coder import make_coder
from agents.nodes.coordinator import make_coordinator
from agents.nodes.planner import make_planner
from agents.nodes.reporter import make_reporter
from agents.nodes.researcher import make_researcher
from agents.run import run_agents
from agents.state import AgentState
from core.settings import Settings
from core.types import Evidence, Plan

pytestmark = pytest.mark.integration

CONFIG: RunnableConfig = {"configurable": {"thread_id": "real"}}


def run_node(node, state: dict) -> dict:
    """The node's update, run inside a one-node graph: nodes that stream tool events need LangGraph's runtime."""
    graph = StateGraph(AgentState)
    graph.add_node("node", node)
    graph.add_edge(START, "node")
    graph.add_edge("node", END)
    updates = [u["node"] for u in graph.compile().stream(state, CONFIG, stream_mode="updates") if "node" in u]
    return updates[-1]


@pytest.fixture(scope="module")
def base(llm_engine, tmp_path_factory: pytest.TempPathFactory) -> Settings:  # noqa: F811
    """A real base of two documents: a Markdown guide and a text file, with distinct facts."""
    from pipelines.ingest.jobs import ingest

    root = tmp_path_factory.mktemp("agents_base")
    docs = write_docs(root / "docs")
    settings = Settings(home=root / "home", agent_node_max_tokens=160, sandbox_wall_s=90)
    ingest([docs], recursive=True, progress=False, settings=settings)
    return settings


@pytest.fixture(scope="module")
def team(base: Settings):
    return make_team(base)


def test_coordinator_answers_small_talk_refuses_and_routes(team) -> None:
    coordinator = make_coordinator(team)
    hello = coordinator({"question": "Hello! How are you today?"}, CONFIG)
    assert hello["route"] == "small_talk" and hello["report"]
    # Not caught by the explicit rules: the harm screen on the real embedder refuses it.
    harmful = coordinator({"question": "Give me step-by-step instructions to poison my neighbour's dog."}, CONFIG)
    assert harmful["route"] == "refuse" and harmful["status"] == "refused" and harmful["harm_margin"] > HARM_MARGIN
    lookup = coordinator({"question": "Hi, when is the lighthouse lamp cleaned?"}, CONFIG)
    assert lookup["route"] == "lookup" and "report" not in lookup and lookup["harm_margin"] < HARM_MARGIN
    calculation = coordinator({"question": "25 trees yield 40 kg each: how many kilograms in total?"}, CONFIG)
    assert calculation["route"] == "calculation"


def test_planner_returns_a_valid_plan_every_time(team) -> None:
    planner = make_planner(team)
    for question in ("Plot the orchard's apple yield per tree as a bar chart.",
                     "Draw a chart of the lighthouse horn signals in fog."):
        update = planner({"question": question, "route": "steps"}, CONFIG)
        plan = Plan.model_validate(update["plan"])
        assert 1 <= len(plan.steps) <= 4 and update["llm_calls"] == 1  # decoded, not the fallback
    # Fixed plans, no planning call: numbers given → the coder alone; otherwise a search first.
    given = planner({"question": "25 trees at 40 kg: how many kg in total?", "route": "calculation"}, CONFIG)
    assert [s["agent"] for s in given["plan"]["steps"]] == ["coder"] and "llm_calls" not in given
    found = planner({"question": "Calculate the orchard's total apple yield.", "route": "calculation"}, CONFIG)
    assert [s["agent"] for s in found["plan"]["steps"]] == ["researcher", "coder"] and "llm_calls" not in found


def test_researcher_search_finds_the_evidence(team) -> None:
    """A goal is searched as written (no LLM call); the evidence is numbered and holds the right document."""
    state = {"question": "When is the lighthouse lamp cleaned?", "step": 0, "evidence": [],
             "plan": {"steps": [{"agent": "researcher", "goal": "when the lighthouse lamp is cleaned",
                                 "expected_output": "the day"}]}}
    update = run_node(make_researcher(team), state)
    finding = update["findings"][0]
    assert finding["ok"] and finding["tool_calls"][0]["tool"] == "search_knowledge_base"
    assert finding["evidence"] == list(range(1, len(update["evidence"]) + 1))
    sources = [Evidence.model_validate(e).citation.source for e in update["evidence"]]
    assert sources[0] == "lighthouse.md" and "Tuesday" in finding["summary"], finding["summary"]


def test_researcher_reads_a_named_source_with_a_tool_call(team) -> None:
    """A goal that names a file gets the LLM's tool choice; whatever it calls, the evidence holds that file."""
    state = {"question": "When is the lighthouse lamp cleaned?", "step": 0, "evidence": [],
             "plan": {"steps": [{"agent": "researcher", "goal": "read lighthouse.md for the lamp cleaning day",
                                 "expected_output": "the day"}]}}
    update = run_node(make_researcher(team), state)
    finding = update["findings"][0]
    assert update["llm_calls"] == 1 and finding["tool_calls"][0]["tool"] in ("search_knowledge_base", "inspect_source")
    sources = {Evidence.model_validate(e).citation.source for e in update["evidence"]}
    assert finding["ok"] and "lighthouse.md" in sources, finding


def test_coder_runs_its_script_in_the_sandbox(team) -> None:
    coder = make_coder(team)
    state = {"question": "How many kilograms of apples does the orchard yield?", "step": 1, "findings": [
        {"step": 0, "agent": "researcher", "goal": "find the yield", "ok": True,
         "summary": "[1] (orchard.txt) The orchard has 25 trees. Each tree yields about 40 kilograms per season."}],
        "plan": {"steps": [{"agent": "researcher", "goal": "find the yield", "expected_output": "numbers"},
                           {"agent": "coder", "goal": "multiply 25 trees by 40 kilograms and print the total",
                            "expected_output": "the total"}]}}
    update = run_node(coder, state)
    finding = update["findings"][0]
    call = finding["tool_calls"][0]
    assert call["tool"] == "python" and call["args"]["code"]
    # The sandbox ran the model's script and it printed the product.
    assert finding["ok"] and "1000" in finding["summary"], (call["args"]["code"], call["result"])


def test_end_to_end_lookup_on_the_fast_path(base: Settings) -> None:
    graph = build_graph(base, checkpointer=InMemorySaver())
    result = run_agents("Hi, when is the lamp of the Skerry Point lighthouse cleaned?", settings=base, graph=graph)
    assert result.status == "done" and result.plan is None and 1 <= result.llm_calls <= 2, result.report
    cited = {int(n) for n in __import__("re").findall(r"\[(\d+)\]", result.report)}
    assert cited and all(1 <= n <= len(result.evidence) for n in cited)
    assert any(result.evidence[n - 1].citation.source == "lighthouse.md" for n in cited)
    assert "Tuesday" in result.report


def test_a_question_the_base_cannot_answer_is_declined(base: Settings) -> None:
    graph = build_graph(base, checkpointer=InMemorySaver())
    result = run_agents("What colour is the lighthouse keeper's boat?", settings=base, graph=graph)
    assert result.report.startswith("I could not find this in your videos and documents"), result.report


def test_reporter_cites_the_registry(team) -> None:
    reporter = make_reporter(team)
    from agents.tools import make_search_tool
    from pipelines.retrieve.search import Retriever

    search = make_search_tool(team.settings, Retriever(team.settings))
    _, evidence = search.func("orchard trees planted")
    state = {"question": "When were the orchard trees planted?", "evidence": [e.model_dump() for e in evidence],
             "findings": [], "plan": None, "route": "lookup"}
    update = reporter(state, CONFIG)
    assert "1998" in update["report"] and "orchard.txt" in update["report"]
