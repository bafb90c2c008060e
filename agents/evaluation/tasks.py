"""Task sets: JSONL, one task a line. Malformed lines are reported with their line number and skipped.

    {"id": "coffee-ratio", "question": "...", "lang": "en", "category": "lookup",
     "expected_facts": ["16", "re:92\\s*(to|-|–)\\s*96"],
     "expected_sources": [{"source": "coffee_brewing.mp4", "t0": 15.7, "t1": 27.4}],
     "budget": {"seconds": 300}}

An expected fact is a plain string (found after normalisation: NFKC width folding, case,
punctuation and spaces ignored) or, with the prefix `re:`, a regular expression searched
case-insensitively in the NFKC-folded answer. `expected_sources` items are a file name or
`{"source", "t0", "t1"}` (a video moment) or `{"source", "page"}` (a document page).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

Category = Literal["lookup", "multi-hop", "calculation", "legal", "refusal", "small_talk", "unanswerable"]
CATEGORIES: tuple[str, ...] = Category.__args__  # type: ignore[attr-defined]
REGEX_PREFIX = "re:"
SHIPPED = Path(__file__).parent / "tasksets"
# The shipped set over the demo corpus, split once: `dev` is what the prompts and rules are tuned on,
# `test` (written apart from them: paraphrases, greeting-prefixed questions, calculations that do not
# say "Python", harmful requests no safety rule matches) is only ever reported.
SPLITS = {"dev": SHIPPED / "dev.jsonl", "test": SHIPPED / "test.jsonl"}
DEV_TASKS, TEST_TASKS = SPLITS["dev"], SPLITS["test"]


class ExpectedSource(BaseModel):
    model_config = ConfigDict(extra="forbid")

    source: str = Field(min_length=1, description="the file name, e.g. coffee_brewing.mp4")
    t0: float | None = None
    t1: float | None = None
    page: int | None = Field(None, ge=1)

    @model_validator(mode="after")
    def _span(self) -> ExpectedSource:
        if (self.t0 is None) != (self.t1 is None):
            raise ValueError("give both t0 and t1, or neither")
        if self.t0 is not None and self.t1 is not None and self.t1 < self.t0:
            raise ValueError("t1 is before t0")
        return self


class Budget(BaseModel):
    model_config = ConfigDict(extra="forbid")

    steps: int | None = Field(None, ge=1)
    tokens: int | None = Field(None, ge=1)
    seconds: float | None = Field(None, gt=0)


class Task(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1, pattern=r"^[\w.-]+$")
    question: str = Field(min_length=1)
    lang: str = Field(min_length=2)
    category: Category
    expected_facts: list[str] = Field(default_factory=list)
    expected_sources: list[ExpectedSource] = Field(default_factory=list)
    budget: Budget | None = None

    @field_validator("expected_sources", mode="before")
    @classmethod
    def _names_to_sources(cls, value):
        return [{"source": v} if isinstance(v, str) else v for v in value or []]

    @field_validator("expected_facts")
    @classmethod
    def _regexes_compile(cls, facts: list[str]) -> list[str]:
        for fact in facts:
            if fact.startswith(REGEX_PREFIX):
                re.compile(fact[len(REGEX_PREFIX):])  # a bad pattern is a malformed line
        return facts


@dataclass
class TaskSet:
    tasks: list[Task]
    problems: list[str] = field(default_factory=list)  # "line 7: ..." for every skipped line


def parse_tasks(lines: list[str]) -> TaskSet:
    tasks: list[Task] = []
    problems: list[str] = []
    seen: set[str] = set()
    for number, line in enumerate(lines, start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        try:
            task = Task.model_validate(json.loads(line))
        except json.JSONDecodeError as exc:
            problems.append(f"line {number}: not JSON ({exc.msg})")
            continue
        except (ValidationError, re.error, TypeError) as exc:
            problems.append(f"line {number}: {_short(exc)}")
            continue
        if task.id in seen:
            problems.append(f"line {number}: duplicate id {task.id!r}")
            continue
        seen.add(task.id)
        tasks.append(task)
    return TaskSet(tasks, problems)


def load_tasks(path: str | Path) -> TaskSet:
    return parse_tasks(Path(path).read_text(encoding="utf-8").splitlines())


def _short(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return "; ".join(f"{'.'.join(map(str, e['loc'])) or 'task'}: {e['msg']}" for e in exc.errors())
    return str(exc)
