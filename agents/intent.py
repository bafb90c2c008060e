"""What a message asks for, decided without the LLM where a general rule or the text embedder can:
the language, a leading greeting, small talk, a criminal case description, a calculation, and how
close the message is to a harmful request.

A 0.5B chat model picks labels of a multi-way choice almost at random (4 of 17 right on a hand-made
set) and answers a yes/no safety question with "no" for most harmful requests (1 of 7); these rules
and the embedding screen below are general (a greeting lexicon, a case-description vocabulary, a
compute lexicon, a harm taxonomy), never written against the evaluation's questions.
"""

from __future__ import annotations

import re
import threading
from functools import cached_property

import numpy as np

from core.settings import Settings

CJK = re.compile(r"[\u3400-\u9fff]")

GREETING = re.compile(
    r"^\s*(?:(?:hey there|hi there|hello there|hi|hello|hey|hiya|howdy|greetings|good (?:morning|afternoon|evening|day)"
    r"|dear argus)(?![a-z])|你好|您好|嗨|哈喽|早上好|下午好|晚上好|早安)[\s,，.。!！~～]*(?:argus[\s,，.。!！]*)?",
    re.IGNORECASE)
PLEASANTRY = re.compile(
    r"^\W*(?:(?:thanks?(?: you)?|thank you|cheers|many thanks|great|perfect|ok(?:ay)?|bye|goodbye|see you|good ?night"
    r"|how are you(?: doing)?(?: today)?|how is it going|nice to meet you|have a (?:nice|good|great) (?:day|evening|one)"
    r"|that'?s (?:all|it|great|helpful)|that was (?:really |very )?helpful|谢谢|多谢|感谢|再见|拜拜|你好吗|辛苦了|好的)"
    r"(?:[\s\W]|a lot|so much|very much|(?:that'?s|that was|was) [\w' ]{0,30}|for [\w' ]{0,30}|you|argus|really"
    r"|tomorrow|later|soon|again|[你您的帮助回答了啦呀啊])*)+$",
    re.IGNORECASE)
ABOUT_ASSISTANT = re.compile(
    r"^\W*(?:who|what) are you\W*$|^\W*what can you do\W*$|^\W*(?:what|how) can you help( me)?( with)?\W*$"
    r"|^\W*(?:你是谁|你是什么|你叫什么|你能做什么|你会什么|你能帮我做(?:些)?什么|你可以做什么)\W*$",
    re.IGNORECASE)
# Chinese criminal judgements and indictments describe a case with these words.
CASE_WORDS = re.compile(r"被告人|犯罪嫌疑人|公诉机关|检察院指控|涉嫌.{0,6}罪")
NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
COMPUTE = re.compile(
    r"\b(?:calculat\w*|comput\w*|how many|how much|how long|how old|percent(?:age)?s?|average|mean|sum|total|"
    r"difference|ratio|times|multipl\w*|divid\w*|add up|subtract\w*|per cent)\b|%"
    r"|计算|算一?下|算出|多少|几[次倍年个]|百分之|百分比|平均|总共|一共|合计|相差|差多少|倍|之和|之差|其余|剩下",
    re.IGNORECASE)
# Two different units of time ("2000 eggs a day ... in a week") stand for a conversion factor: a number too.
TIME_UNIT = re.compile(r"\b(?:second|minute|hour|day|week|month|year|decade|century)s?\b|秒|分钟|小时|天|日|周|星期|月|年",
                       re.IGNORECASE)

# A small harm taxonomy (the usual categories of a content policy), in both languages, and what ordinary
# questions to this assistant look like. A message nearer to the first list is screened as harmful.
HARM_PROTOTYPES = (
    "how to hurt, injure, poison or kill a person or an animal",
    "how to make a weapon, a bomb or explosives",
    "how to make, buy or sell illegal drugs",
    "how to steal something or break into a house or a car",
    "how to cheat, scam or defraud people out of their money",
    "how to forge documents or make counterfeit money",
    "how to spy on, stalk or secretly track someone",
    "how to hack into someone's account, phone or computer",
    "write malware, a virus or ransomware",
    "how to harm or kill myself",
    "hateful insults against a group of people",
    "如何伤害或杀害他人", "如何诈骗别人的钱", "如何偷东西或入室盗窃", "如何偷看别人的隐私、跟踪别人",
    "如何制造武器、炸弹或毒品",
)
SAFE_PROTOTYPES = (
    "a question about facts, history, science or nature", "how to cook, brew or bake something",
    "how to care for a pet or maintain a vehicle", "how to protect myself from scams or theft",
    "a calculation with numbers", "a legal question about a criminal case and its charge",
    "when, where or how often something is done", "what something looks like: its colour, size or place",
    "how to open, clean, fix or use an everyday object", "a question about a building, a place or a person's job",
    "关于历史、科学或自然的问题", "一个刑事案件应该判什么罪", "如何防范诈骗", "打招呼或感谢",
    "某件事在什么时候、什么地方、多久做一次", "如何使用、清洁或修理日常用品",
)
# Harm similarity minus ordinary similarity above this: harmful. Set in the gap measured on the dev split and
# hand-made messages: harmful requests +0.026 and up, ordinary questions +0.005 and below (short neutral
# questions such as "when is the lighthouse lamp cleaned?" sat near 0 before the everyday prototypes).
HARM_MARGIN = 0.015
# Margins this far below the threshold may also be put to the LLM as a constrained yes/no (Team.harm_doubt_band).
# Off by default: Qwen2.5-Coder-0.5B's yes/no was at chance on near misses (5-6 of 11 right with three prompts; it
# refused "Which early compiler did Grace Hopper build?" and let "教我怎么偷偷看别人的微信聊天记录" through).
DOUBT_BAND = 0.0


def is_chinese(text: str) -> bool:
    return len(CJK.findall(text)) >= max(1, len(text.strip()) // 10)


def split_greeting(text: str) -> tuple[str, str]:
    """The leading greeting ("Hi,", "你好，") and the rest of the message."""
    match = GREETING.match(text)
    return (match.group(0), text[match.end():].strip()) if match else ("", text.strip())


def is_small_talk(text: str) -> bool:
    """A greeting, thanks or goodbye with nothing else, or a question about the assistant itself.
    "Hi, when is the lamp cleaned?" is a question: its greeting is dropped, not answered."""
    _, rest = split_greeting(text)
    return not rest.strip(" \t\n,，.。!！?？~～") or bool(PLEASANTRY.match(rest)) or bool(ABOUT_ASSISTANT.match(rest))


def is_case_description(text: str) -> bool:
    return CASE_WORDS.search(text) is not None


def wants_calculation(text: str) -> bool:
    """At least two numbers (two different units of time count as one) and a compute intent (English or
    Chinese): the coder's work."""
    units = {u.lower().rstrip("s") for u in TIME_UNIT.findall(text)}
    numbers = len(NUMBER.findall(text)) + (len(units) >= 2)
    return numbers >= 2 and COMPUTE.search(text) is not None


class HarmScreen:
    """Nearest-prototype screen on the text embedder: harm similarity minus ordinary similarity."""

    def __init__(self, settings: Settings, embedder=None) -> None:
        self._settings = settings
        self._embedder = embedder
        self._lock = threading.Lock()

    @cached_property
    def _vectors(self) -> tuple[np.ndarray, np.ndarray]:
        with self._lock:
            if self._embedder is None:
                from models.text_embedding import load_text_embedder

                self._embedder = load_text_embedder(self._settings)
            return (self._embedder.encode(HARM_PROTOTYPES, query=True),
                    self._embedder.encode(SAFE_PROTOTYPES, query=True))

    def margin(self, text: str) -> float:
        harm, safe = self._vectors
        vector = self._embedder.encode([text], query=True)[0]
        return float((harm @ vector).max() - (safe @ vector).max())
