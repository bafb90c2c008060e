"""`argus ask` latency and correctness: retrieval, the LLM's answer and the whole question, per chat
model (and per evidence focus ratio), in one run.

    ARGUS_HOME=<a demo base> .venv/bin/python bench/bench_ask.py                 # 0.5B and 1.5B
    ARGUS_HOME=<a demo base> .venv/bin/python bench/bench_ask.py --models 1.5b --cli 8
    ARGUS_HOME=<a demo base> .venv/bin/python bench/bench_ask.py --models 1.5b --split dev --focus 0,0.3,0.4

The questions are the lookup, multi-hop and unanswerable questions of the agent task splits
(`agents/evaluation/tasksets/`, `--split dev|test|both`), asked the way `argus ask` asks them
(`Retriever.search`, k=6 or `-k`, no rerank; `focused`; `stream_answer`; `finish_answer`) in one
process with the retriever loaded and the engine started beforehand (each model on its own port from
`--port`): what a user waits for once the tool is up. Each answer is scored as the agent evaluation
scores it: `right` is every expected fact in the answer (lookup, multi-hop) or a decline
(unanswerable). `--cli N` also times N questions through the `argus ask` command itself (a fresh
process each: imports, model loads and the engine's reuse included). Prints p50/p95 per model and
phase and writes bench/results/ask.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.settings import Settings  # noqa: E402

MODELS = {"0.5b": "qwen2.5-coder-0.5b", "1.5b": "qwen2.5-coder-1.5b"}
CATEGORIES = ("lookup", "multi-hop", "unanswerable")


def questions(split: str) -> list:
    from agents.evaluation.tasks import load_tasks

    splits = ("dev", "test") if split == "both" else (split,)
    return [task for name in splits for task in load_tasks(ROOT / "agents" / "evaluation" / "tasksets" / f"{name}.jsonl").tasks
            if task.category in CATEGORIES]


def right(task, answer) -> bool:
    from agents.evaluation.metrics import fact_recall

    if task.category == "unanswerable":
        return not answer.answered
    return answer.answered and fact_recall(task, answer.text) == 1.0


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 2)


def in_process(settings: Settings, asked: list, k: int, focus: float) -> dict[str, float]:
    from models.llm.stream import answer_stream
    from pipelines.retrieve import answer as answering
    from pipelines.retrieve.answer_prompt import ANSWER_TOKENS
    from pipelines.retrieve.search import Retriever

    chat = answer_stream(settings, max_tokens=ANSWER_TOKENS)
    retriever = Retriever(settings)
    retriever.search("warm-up", 6)
    search_s, answer_s, total_s, ok, items = [], [], [], 0, 0
    for task in asked:
        started = time.perf_counter()
        evidence = answering.focused(retriever.search(task.question, k), focus)
        searched = time.perf_counter()
        text = "".join(answering.stream_answer(task.question, evidence, chat, settings.llm_chat_model))
        ok += right(task, answering.finish_answer(task.question, evidence, text))
        done = time.perf_counter()
        items += len(evidence)
        search_s.append(searched - started)
        answer_s.append(done - searched)
        total_s.append(done - started)
    return {"focus": focus, "questions": len(asked), "right": round(ok / len(asked), 3),
            "evidence_items": round(items / len(asked), 2), "search_p50_s": pct(search_s, 0.5),
            "answer_p50_s": pct(answer_s, 0.5), "p50_s": pct(total_s, 0.5), "p95_s": pct(total_s, 0.95),
            "mean_s": round(statistics.mean(total_s), 2)}


def cli(settings: Settings, asked: list, k: int) -> dict[str, float]:
    seconds = []
    for task in asked:
        started = time.perf_counter()
        subprocess.run([str(ROOT / ".venv" / "bin" / "argus"), "ask", task.question, "-k", str(k)], check=True,
                       capture_output=True,
                       env={**os.environ, "ARGUS_LLM_CHAT_MODEL": settings.llm_chat_model,
                            "ARGUS_ENGINE_PORT": str(settings.engine_port)})
        seconds.append(time.perf_counter() - started)
    return {"cli_questions": len(asked), "cli_p50_s": pct(seconds, 0.5), "cli_max_s": round(max(seconds), 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", default="0.5b,1.5b")
    parser.add_argument("--cli", type=int, default=0, help="also time this many questions through `argus ask`")
    parser.add_argument("-k", type=int, default=6, help="evidence items per answer (`argus ask -k`)")
    parser.add_argument("--split", choices=("dev", "test", "both"), default="both")
    parser.add_argument("--focus", default="", help="evidence focus ratios to compare (default: the shipped one)")
    parser.add_argument("--port", type=int, default=8051, help="engine port of the first model (the next: +1)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "ask.json")
    args = parser.parse_args()
    from pipelines.retrieve.answer import FOCUS_RATIO

    asked = questions(args.split)
    ratios = [float(r) for r in args.focus.split(",")] if args.focus else [FOCUS_RATIO]
    rows = []
    for i, size in enumerate(args.models.split(",")):
        settings = Settings(llm_chat_model=MODELS[size], engine_port=args.port + i)
        for focus in ratios:
            print(f"{settings.llm_model}, focus {focus}: {len(asked)} questions ...", flush=True)
            row = {"model": settings.llm_model, "split": args.split, "load_avg_1m": round(os.getloadavg()[0], 2),
                   "k": args.k, **in_process(settings, asked, args.k, focus)}
            if args.cli and focus == FOCUS_RATIO:
                row.update(cli(settings, asked[: args.cli], args.k))
            rows.append(row)
            print(json.dumps(row), flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"home": str(Settings().home), "runs": rows}, indent=2) + "\n")
    print("\n| model | focus | questions | right | evidence items | search p50 s | answer p50 s | p50 s | p95 s "
          "| `argus ask` p50 s (fresh process) |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['model']} | {r['focus']} | {r['questions']} | {r['right']} | {r['evidence_items']} "
              f"| {r['search_p50_s']} | {r['answer_p50_s']} | {r['p50_s']} | {r['p95_s']} | {r.get('cli_p50_s', '-')} |")


if __name__ == "__main__":
    main()
