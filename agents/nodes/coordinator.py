"""Coordinator: answers small talk itself, refuses harmful requests, asks for missing context, and sends
every other message down one path: the fast lookup, a calculation, a legal judgement, or a plan.

Each decision is a general rule (safety patterns, a greeting lexicon, a case-description vocabulary, a
compute lexicon: agents.intent) or the harm screen on the text embedder; the LLM can be asked one constrained
yes/no when the screen is in doubt (off for the 0.5B default, whose yes/no was measured at chance). A greeting in front of a question is dropped, not answered.
"""

from __future__ import annotations

import re

from langchain_core.messages import AIMessage, HumanMessage, SystemMessage
from langchain_core.runnables import RunnableConfig

from agents import prompts
from agents.intent import (
    HARM_MARGIN,
    is_case_description,
    is_chinese,
    is_small_talk,
    split_greeting,
    wants_calculation,
)
from agents.state import AgentState
from agents.team import Team
from models.llm.client import StructuredOutputError, choose

# General safety rules: a refusal of the plainest requests must not depend on a model's judgement.
HARMFUL = [re.compile(p, re.IGNORECASE) for p in (
    r"\b(make|build|assemble|synthesi[sz]e|produce|create)\b.{0,40}\b(bomb|explosive|napalm|nerve agent|sarin|ricin"
    r"|bioweapon|chemical weapon|ghost gun|silencer|meth(amphetamine)?)s?\b",
    r"\b(write|create|code|build|develop)\b.{0,40}\b(malware|ransomware|keylogger|virus|trojan|botnet|rootkit"
    r"|spyware|exploit kit)\b",
    r"\b(kill|hurt|harm|cut)\s+(myself|yourself)\b|\bsuicide (method|plan)s?\b|\bways? to (die|end my life)\b",
    r"\b(hack|break) into\b.{0,40}\b(account|email|phone|bank|server)\b",
    r"(教我|告诉我|怎么|怎样|如何).{0,6}(制造|制作)(炸弹|炸药|毒品|枪支)",
    r"(教我|告诉我)?(怎么|怎样|如何)(才能|去|可以)?(撬开?|偷|抢劫|下毒|入室盗窃)|教我.{0,4}(撬|偷|抢劫|下毒)",
)]
CHART = re.compile(r"\b(chart|plot|graph|diagram)\b|图表|画图|绘制|柱状图|折线图", re.IGNORECASE)
SHORT_REPLY_TOKENS = 80


def is_harmful(text: str) -> bool:
    return any(p.search(text) for p in HARMFUL)


def research_route(question: str) -> str:
    """Which path a question that is neither small talk nor harmful takes (rules only, no LLM)."""
    if is_case_description(question):
        return "legal"
    if wants_calculation(question):
        return "calculation"
    if CHART.search(question):
        return "steps"
    return "lookup"


def refusal(question: str) -> str:
    return prompts.REFUSAL_ZH if is_chinese(question) else prompts.REFUSAL


def make_coordinator(team: Team):
    def harmful(question: str, config: RunnableConfig) -> tuple[bool, float, dict]:
        if is_harmful(question):
            return True, 1.0, {}
        if is_case_description(question):  # a case to judge, not a request for harm
            return False, -1.0, {}
        margin = team.harm_screen.margin(question)
        if not HARM_MARGIN - team.harm_doubt_band < margin <= HARM_MARGIN:  # only a near miss is worth a call
            return margin > HARM_MARGIN, margin, {}
        messages = [SystemMessage(prompts.HARM_CHECK), HumanMessage(question)]
        try:
            verdict, usage = team.call(config, lambda: choose(team.chat, messages, ["yes", "no"]))
        except StructuredOutputError:
            return margin > HARM_MARGIN, margin, {}
        return verdict == "yes" or margin > HARM_MARGIN, margin, usage

    def coordinator(state: AgentState, config: RunnableConfig) -> dict:
        question = state["question"]
        if is_small_talk(question):
            reply, usage = team.call(config, lambda: team.model(SHORT_REPLY_TOKENS).invoke(
                [SystemMessage(prompts.SMALL_TALK), HumanMessage(question)]))
            text = str(reply.content).strip()
            return {"route": "small_talk", "status": "answered", "report": text, "messages": [AIMessage(text)],
                    **usage}
        asked = split_greeting(question)[1] or question
        refuse, margin, usage = harmful(asked, config)
        if refuse:
            text = refusal(question)
            return {"route": "refuse", "status": "refused", "report": text, "messages": [AIMessage(text)],
                    "harm_margin": round(margin, 4), **usage}
        return {"route": research_route(asked), "harm_margin": round(margin, 4), **usage}

    return coordinator
