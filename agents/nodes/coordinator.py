"""Coordinator: answers small talk itself, refuses harmful requests, asks for missing context,
and hands research questions to the planner."""

from __future__ import annotations

import re

from langchain_core.messages import AIMessage, HumanMessage, SystemMessage
from langchain_core.runnables import RunnableConfig

from agents import prompts
from agents.state import AgentState
from agents.team import Team, merge_usage
from models.llm.client import choose

ROUTES = ["research", "small_talk", "refuse", "clarify"]  # research first: the default

# Explicit rules first: a refusal must not depend on a 0.5B model's judgement alone.
HARMFUL = [re.compile(p, re.IGNORECASE) for p in (
    r"\b(make|build|assemble|synthesi[sz]e|produce|create)\b.{0,40}\b(bomb|explosive|napalm|nerve agent|sarin|ricin"
    r"|bioweapon|chemical weapon|pipe bomb|ghost gun|silencer|meth(amphetamine)?)\b",
    r"\b(write|create|code|build|develop)\b.{0,40}\b(malware|ransomware|keylogger|virus|trojan|botnet|rootkit"
    r"|spyware|exploit kit)\b",
    r"\b(kill|hurt|harm|cut)\s+(myself|yourself)\b|\bsuicide (method|plan)s?\b|\bways? to (die|end my life)\b",
    r"\b(hack|break) into\b.{0,40}\b(account|email|phone|bank|server)\b",
    r"\bpoison(ing)?\b.{0,40}\b(my|his|her|their|a|the)?\s*(neighbou?r|wife|husband|child|boss|dog|cat|person|people)",
    r"(教我|告诉我).{0,10}(撬开?|偷|抢劫|闯进|下毒|制造炸弹|制作炸药)",
    r"(怎么|怎样|如何)(撬开?别人|偷别人|偷东西|抢劫|制造炸弹|制作炸药|给人下毒)",
)]
# A criminal case description is the legal tool's input, not a request for harm (a small model refuses it).
CASE_FACT = re.compile(r"被告人|犯罪嫌疑人|公诉机关|检察院指控")
# Greetings and thanks are small talk whatever a small model would guess (it tends to say "research").
SMALL_TALK = re.compile(
    r"^\W*(hi|hello|hey|good (morning|afternoon|evening)|how are you( doing)?( today)?|thanks?( you)?|thank you"
    r"( very much)?|bye|goodbye|see you|你好|您好|嗨|谢谢|多谢|再见|早上好|晚上好)(?![a-z])[\W\w]{0,40}$",  # "hi", not "history"
    re.IGNORECASE,
)


def is_harmful(text: str) -> bool:
    return any(p.search(text) for p in HARMFUL)


def make_coordinator(team: Team):
    def coordinator(state: AgentState, config: RunnableConfig) -> dict:
        question = state["question"]
        if is_harmful(question):
            return {"route": "refuse", "status": "refused", "report": prompts.REFUSAL,
                    "messages": [AIMessage(prompts.REFUSAL)]}
        if SMALL_TALK.match(question.strip()):
            route, usage = "small_talk", {}
        elif CASE_FACT.search(question):
            route, usage = "research", {}
        else:
            route, usage = team.call(config, lambda: choose(
                team.chat, [SystemMessage(prompts.COORDINATOR), HumanMessage(question)], ROUTES))
        if route == "research":
            return {"route": route, **usage}
        if route == "refuse":
            return {"route": route, "status": "refused", "report": prompts.REFUSAL,
                    "messages": [AIMessage(prompts.REFUSAL)], **usage}
        system = prompts.SMALL_TALK if route == "small_talk" else prompts.CLARIFY
        reply, more = team.call(config, lambda: team.model(80).invoke(
            [SystemMessage(system), HumanMessage(question)]))
        text = str(reply.content).strip()
        return {"route": route, "status": "answered" if route == "small_talk" else "clarify", "report": text,
                "messages": [AIMessage(text)], **merge_usage(usage, more)}

    return coordinator
