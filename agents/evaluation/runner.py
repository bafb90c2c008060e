"""Run a task set through the agent graph the API uses (same engine, same retriever).

Every attempt (task × repeat) becomes one line of `DIR/results.jsonl`, written as soon as
it ends, so an interrupted evaluation resumes where it stopped: attempts already recorded
are skipped unless `fresh`. A crash or a timeout is recorded as a failed attempt with its
error, and the run goes on.

Timeouts: the graph runs in a worker thread; past its deadline the attempt is recorded as
timed out and the worker is told to stop at the graph's next event (a Python thread cannot
be killed mid-call, so an LLM call in flight still finishes on the engine).
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agents.evaluation.tasks import Task
from agents.evaluation.trace import NodeUsage, RunTrace
from core.settings import Settings

RESULTS = "results.jsonl"
EVIDENCE_CHARS = 400  # evidence text kept per cited item

# (settings, usage callback) -> a compiled graph (and a close function for what it opened)
GraphFactory = Callable[[Settings, NodeUsage], tuple[Any, Callable[[], None]]]


def agent_graph_factory(settings: Settings) -> GraphFactory:
    """Graphs built like `agents.run.stream_events` builds them for the API, sharing one retriever and
    tool set; each attempt gets its own chat model (to count its tokens) and checkpoint connection."""
    from agents.graph import build_graph, make_team
    from agents.run import open_checkpointer
    from agents.team import Team
    from pipelines.retrieve.search import Retriever

    retriever = Retriever(settings)
    shared = make_team(settings, retriever=retriever)
    # Load the models the attempts share before they run in parallel: transformers' lazy imports
    # and first model loads are not thread-safe.
    import transformers

    transformers.AutoTokenizer  # noqa: B018 — resolves the lazy attribute once
    retriever.search("warm up", 1)
    shared.harm_screen.margin("warm up")  # loads the embedder and the harm prototypes once

    def factory(run_settings: Settings, usage: NodeUsage):
        from models.llm.client import get_chat_model

        team = Team(settings=run_settings, chat=get_chat_model(run_settings, callbacks=[usage]),
                    tools=shared.tools, notes=shared.notes, retriever=retriever, harm_screen=shared.harm_screen)
        saver = open_checkpointer(run_settings)
        return build_graph(run_settings, team=team, checkpointer=saver), saver.conn.close

    return factory


@dataclass
class Options:
    repeat: int = 1
    concurrency: int = 1
    timeout_s: float = 600.0
    fresh: bool = False


def task_settings(settings: Settings, task: Task) -> Settings:
    """The settings with the task's step and token budgets, if it sets any."""
    update: dict[str, Any] = {}
    if task.budget and task.budget.steps:
        update["agent_max_steps"] = task.budget.steps
    if task.budget and task.budget.tokens:
        update["agent_max_tokens"] = task.budget.tokens
    return settings.model_copy(update=update) if update else settings


def run_attempt(task: Task, repeat: int, settings: Settings, factory: GraphFactory, timeout_s: float) -> dict[str, Any]:
    """One task once: its answer, evidence, trace and outcome ("ok", "error" or "timeout")."""
    from agents.run import stream_events

    if task.budget and task.budget.seconds:
        timeout_s = task.budget.seconds
    run_settings = task_settings(settings, task)
    usage = NodeUsage()
    trace = RunTrace(thread_id=uuid.uuid4().hex)
    stop = threading.Event()
    crash: list[str] = []

    def work() -> None:
        close = None
        try:
            graph, close = factory(run_settings, usage)
            events = stream_events(task.question, thread_id=trace.thread_id, review=False, settings=run_settings,
                                   graph=graph)
            for ev in events:
                trace.on_event(ev)
                if stop.is_set():
                    events.close()
                    return
        except Exception as exc:  # noqa: BLE001 — recorded as the attempt's error
            crash.append(f"{type(exc).__name__}: {exc}")
        finally:
            if close is not None:
                close()

    started = time.perf_counter()
    worker = threading.Thread(target=work, name=f"eval-{task.id}-{repeat}", daemon=True)
    worker.start()
    worker.join(timeout_s)
    seconds = time.perf_counter() - started
    if worker.is_alive():
        stop.set()
        status, error = "timeout", f"timed out after {timeout_s:g} s"
    elif crash:
        status, error = "error", crash[0]
    elif trace.errors:
        status, error = "error", trace.errors[0]
    elif trace.result is None:
        status, error = "error", "the run ended without a result"
    else:
        status, error = "ok", None
    return attempt_record(task, repeat, status, error, seconds, trace, usage)


def _safe_attempt(task: Task, repeat: int, settings: Settings, factory: GraphFactory,
                  timeout_s: float) -> dict[str, Any]:
    """`run_attempt`, with a failure of the harness itself recorded like a crash of the task."""
    try:
        return run_attempt(task, repeat, settings, factory, timeout_s)
    except Exception as exc:  # noqa: BLE001 — one broken attempt must not end the evaluation
        return attempt_record(task, repeat, "error", f"{type(exc).__name__}: {exc}", 0.0, RunTrace(), None)


def attempt_record(task: Task, repeat: int, status: str, error: str | None, seconds: float, trace: RunTrace,
                   usage: NodeUsage | None) -> dict[str, Any]:
    result = trace.result or {}
    evidence = [{"citation": e["citation"], "text": " ".join(e.get("text", "").split())[:EVIDENCE_CHARS]}
                for e in result.get("evidence") or []]
    return {
        "task_id": task.id, "repeat": repeat, "status": status, "error": error, "seconds": round(seconds, 3),
        "answer": result.get("report", ""), "run_status": result.get("status"), "stop_reason": result.get("stop_reason"),
        "evidence": evidence, "trace": trace.as_dict(usage),
    }


def read_results(out_dir: Path) -> list[dict[str, Any]]:
    path = out_dir / RESULTS
    if not path.exists():
        return []
    records = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:  # a line cut short by a kill: that attempt runs again
            continue
    return records


def run_tasks(tasks: Iterable[Task], out_dir: Path, settings: Settings, options: Options,
              factory: GraphFactory | None = None, progress: bool = True) -> list[dict[str, Any]]:
    """Run every (task, repeat) not yet recorded in `out_dir`; returns all records of the tasks."""
    tasks = list(tasks)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / RESULTS
    if options.fresh and path.exists():
        path.unlink()
    recorded = read_results(out_dir)
    if path.exists():  # drop a line cut short by a kill, so that new lines start clean
        path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in recorded), encoding="utf-8")
    done = {(r["task_id"], r["repeat"]) for r in recorded}
    todo = [(t, k) for k in range(options.repeat) for t in tasks if (t.id, k) not in done]
    if todo:
        factory = factory or agent_graph_factory(settings)
        lock = threading.Lock()
        with ThreadPoolExecutor(max_workers=max(1, options.concurrency)) as pool, \
                _progress(len(todo), progress) as bar:
            futures = {pool.submit(_safe_attempt, t, k, settings, factory, options.timeout_s): t for t, k in todo}
            for future in as_completed(futures):
                record = future.result()
                line = json.dumps(record, ensure_ascii=False, default=str)  # e.g. an exception in a node's error
                with lock, path.open("a", encoding="utf-8") as f:
                    f.write(line + "\n")
                bar.set_postfix_str(f"{record['task_id']}: {record['status']}")
                bar.update(1)
    ids = {t.id for t in tasks}
    return [r for r in read_results(out_dir) if r["task_id"] in ids and r["repeat"] < options.repeat]


def _progress(total: int, enabled: bool):
    from tqdm import tqdm

    return tqdm(total=total, desc="agent eval", unit="task", disable=not enabled, dynamic_ncols=True)
