"""The runner with stand-in graphs (named as such): crash and timeout handling, resume, fresh, repeats."""

from __future__ import annotations

import json
import threading
import time
from types import SimpleNamespace

import pytest

from agents.evaluation.report import write_report
from agents.evaluation.runner import RESULTS, Options, read_results, run_tasks
from agents.evaluation.tasks import TaskSet, parse_tasks
from core.settings import Settings

pytestmark = pytest.mark.unit


class FakeGraph:
    """A stand-in for the compiled agent graph: streams one node and answers from a script.

    `behaviour`: "answer", "crash" (the node raises) or "hang" (the node blocks until released).
    """

    def __init__(self, behaviour: str, answer: str = "Use 16 g of water [1].", release: threading.Event | None = None):
        self.behaviour, self.answer, self.release = behaviour, answer, release
        self.team = SimpleNamespace(notes=["fake graph"])

    def stream(self, payload, config, stream_mode=None):
        yield "tasks", {"id": "1", "name": "coordinator", "triggers": ["start"]}
        if self.behaviour == "crash":
            raise RuntimeError("the node broke")
        if self.behaviour == "hang":
            self.release.wait(10)
        yield "custom", {"event": "tool_call", "tool": "search_knowledge_base", "args": {"query": "ratio"}}
        yield "custom", {"event": "tool_result", "tool": "search_knowledge_base", "result": "- (c.mp4 @ 00:16) ...",
                         "evidence": [1]}
        yield "tasks", {"id": "1", "name": "coordinator", "result": {"llm_calls": 1, "tokens": 50}}

    def get_state(self, config):
        values = {"question": "q", "report": self.answer, "status": "done", "llm_calls": 1, "tokens": 50,
                  "evidence": [{"citation": {"source_id": 1, "source": "c.mp4", "type": "video", "t0": 16.0,
                                             "t1": 26.0}, "text": "16 grams of water", "score": 1.0}]}
        return SimpleNamespace(values=values, interrupts=(), next=())


def tasks_of(*ids: str) -> TaskSet:
    return parse_tasks([json.dumps({"id": i, "question": f"question {i}?", "lang": "en", "category": "lookup",
                                    "expected_facts": ["16"], "expected_sources": ["c.mp4"]}) for i in ids])


def factory_for(behaviours: dict[str, str], calls: list[str], release: threading.Event | None = None):
    def factory(settings, usage):
        question = threading.current_thread().name.split("-")[1]  # "eval-<task id>-<repeat>"
        calls.append(question)
        behaviour = behaviours.get(question, "answer")
        if behaviour == "factory":
            raise OSError("the engine is down")
        return FakeGraph(behaviour, release=release), lambda: None

    return factory


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings(home=tmp_path / "home")


def test_crashes_and_timeouts_are_recorded_and_the_run_goes_on(tmp_path, settings) -> None:
    release = threading.Event()
    calls: list[str] = []
    factory = factory_for({"b": "crash", "c": "hang", "d": "factory"}, calls, release)
    started = time.perf_counter()
    records = run_tasks(tasks_of("a", "b", "c", "d", "e").tasks, tmp_path / "out", settings,
                        Options(timeout_s=1.0, concurrency=2), factory=factory, progress=False)
    release.set()
    assert time.perf_counter() - started < 8
    by_id = {r["task_id"]: r for r in records}
    assert by_id["a"]["status"] == "ok" and by_id["e"]["status"] == "ok"
    assert by_id["b"]["status"] == "error" and "the node broke" in by_id["b"]["error"]
    assert by_id["c"]["status"] == "timeout" and "timed out" in by_id["c"]["error"]
    assert by_id["d"]["status"] == "error" and "engine is down" in by_id["d"]["error"]
    trace = by_id["a"]["trace"]
    assert trace["visited"] == ["coordinator"] and trace["notes"] == ["fake graph"]
    assert trace["tool_calls"] == [{"node": "researcher", "tool": "search_knowledge_base", "args": {"query": "ratio"},
                                    "result": "- (c.mp4 @ 00:16) ...", "evidence": [1]}]
    assert by_id["a"]["answer"].startswith("Use 16 g") and by_id["a"]["evidence"][0]["citation"]["source"] == "c.mp4"

    report = write_report(tmp_path / "out", tasks_of("a", "b", "c", "d", "e"), records, settings)
    assert report["summary"]["pass_rate"] == pytest.approx(0.4)
    assert (tmp_path / "out" / "report.md").read_text().count("timed out") == 1


def test_resume_skips_recorded_attempts_unless_fresh(tmp_path, settings) -> None:
    out = tmp_path / "out"
    calls: list[str] = []
    run_tasks(tasks_of("a", "b").tasks, out, settings, Options(), factory=factory_for({}, calls), progress=False)
    assert sorted(calls) == ["a", "b"]
    # An interrupted run left a cut-off line: that attempt runs again, the finished ones do not.
    lines = (out / RESULTS).read_text().splitlines()
    (out / RESULTS).write_text(lines[0] + "\n" + lines[1][:40])
    calls.clear()
    records = run_tasks(tasks_of("a", "b", "c").tasks, out, settings, Options(), factory=factory_for({}, calls),
                        progress=False)
    done_first = json.loads(lines[0])["task_id"]
    assert sorted(calls) == sorted({"a", "b", "c"} - {done_first}) and len(records) == 3
    calls.clear()
    run_tasks(tasks_of("a", "b", "c").tasks, out, settings, Options(repeat=2), factory=factory_for({}, calls),
              progress=False)
    assert sorted(calls) == ["a", "b", "c"]  # only the second repeat
    assert len(read_results(out)) == 6
    calls.clear()
    run_tasks(tasks_of("a").tasks, out, settings, Options(fresh=True), factory=factory_for({}, calls), progress=False)
    assert calls == ["a"] and len(read_results(out)) == 1
