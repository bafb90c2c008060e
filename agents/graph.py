"""The agent team as a LangGraph StateGraph: nodes, edges and routing in one place.

    START -> coordinator -> answerer -> END                     a lookup: the fast path (one or two LLM calls)
    coordinator -> planner -> [plan_review] -> supervisor      a calculation, a case, a chart, or any run under review
    supervisor -> researcher | coder -> supervisor ;  supervisor -> planner (re-plan) | reporter -> END
    coordinator -> END for small talk and refusals
"""

from __future__ import annotations

from langchain_core.language_models import BaseChatModel
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph

from agents.nodes.answerer import make_answerer
from agents.nodes.coder import make_coder
from agents.nodes.coordinator import make_coordinator
from agents.nodes.plan_review import make_plan_review
from agents.nodes.planner import make_planner
from agents.nodes.reporter import make_reporter
from agents.nodes.researcher import make_researcher
from agents.nodes.supervisor import make_supervisor, route
from agents.state import PLANNED_ROUTES, AgentState
from agents.team import Team
from agents.tools import researcher_tools
from core.settings import Settings, get_settings

NODES = ("coordinator", "answerer", "planner", "plan_review", "supervisor", "researcher", "coder", "reporter")


def after_coordinator(state: AgentState) -> str:
    route = state.get("route")
    if route == "lookup":  # a person reviewing plans gets a (one-step) plan to review
        return "planner" if state.get("review") else "answerer"
    return "planner" if route in PLANNED_ROUTES else END


def after_planner(state: AgentState) -> str:
    # Only the first plan is reviewed; re-plans follow from failures the person already allowed.
    return "plan_review" if state.get("review") and not state.get("replans") else "supervisor"


def make_team(settings: Settings, chat: BaseChatModel | None = None, retriever=None) -> Team:
    if chat is None:
        from models.llm.client import get_chat_model

        chat = get_chat_model(settings)
    if retriever is None:
        from pipelines.retrieve.search import Retriever

        retriever = Retriever(settings)
    tools, notes = researcher_tools(settings, retriever)
    return Team(settings=settings, chat=chat, tools=tools, notes=notes, retriever=retriever)


def build_graph(settings: Settings | None = None, chat: BaseChatModel | None = None, retriever=None,
                checkpointer: BaseCheckpointSaver | None = None, *, team: Team | None = None) -> CompiledStateGraph:
    """The compiled graph. `chat` defaults to the configured LLM engine, `retriever` to the base of ARGUS_HOME."""
    settings = settings or get_settings()
    team = team or make_team(settings, chat, retriever)
    graph = StateGraph(AgentState)
    graph.add_node("coordinator", make_coordinator(team))
    graph.add_node("answerer", make_answerer(team))
    graph.add_node("planner", make_planner(team))
    graph.add_node("plan_review", make_plan_review())
    graph.add_node("supervisor", make_supervisor(team))
    graph.add_node("researcher", make_researcher(team))
    graph.add_node("coder", make_coder(team))
    graph.add_node("reporter", make_reporter(team))

    graph.add_edge(START, "coordinator")
    graph.add_conditional_edges("coordinator", after_coordinator, ["answerer", "planner", END])
    graph.add_edge("answerer", END)
    graph.add_conditional_edges("planner", after_planner, ["plan_review", "supervisor"])
    graph.add_edge("plan_review", "supervisor")
    graph.add_conditional_edges("supervisor", route, ["researcher", "coder", "planner", "reporter"])
    graph.add_edge("researcher", "supervisor")
    graph.add_edge("coder", "supervisor")
    graph.add_edge("reporter", END)
    compiled = graph.compile(checkpointer=checkpointer, name="argus-agents")
    compiled.team = team  # the runner reads the trace notes (e.g. tool availability)
    return compiled
