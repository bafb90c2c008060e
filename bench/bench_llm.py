"""LLM engine benchmark: the vLLM server at 1 and 4 concurrent requests, prompt processing,
and the same prompts through the in-process transformers fallback.

    .venv/bin/python bench/bench_llm.py [--max-tokens 128] [--skip-inprocess] [--stop]

Starts the engine when none serves (and reports the start-up time), prints a table and
writes bench/results/llm.json. Greedy decoding; figures on a shared CPU vary run to run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
from openai import OpenAI

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.settings import Settings, get_settings  # noqa: E402
from models.llm import server  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "llm.json"

# Prompts that make the model write past the token budget, so every request generates max_tokens.
PROMPTS = [
    "Write a detailed, step-by-step guide to cleaning an espresso machine.",
    "Explain in detail how a hash map works, with an example in Python.",
    "Write a long story about a lighthouse keeper who finds a message in a bottle.",
    "Describe the water cycle in detail, stage by stage.",
]
FILLER = ("The catalog stores sources, segments with start and end times, keyframes, captions and chunks. "
          "Indexes are derived data and can be rebuilt from the catalog at any time. ")


def stream_once(client: OpenAI, model: str, prompt: str, max_tokens: int) -> dict[str, float]:
    """One streamed chat completion: time to first token, total time, tokens in and out."""
    started = time.perf_counter()
    first = None
    usage = None
    stream = client.chat.completions.create(
        model=model, messages=[{"role": "user", "content": prompt}], max_tokens=max_tokens, temperature=0,
        stream=True, stream_options={"include_usage": True},
    )
    for event in stream:
        if event.choices and event.choices[0].delta.content and first is None:
            first = time.perf_counter() - started
        if event.usage is not None:
            usage = event.usage
    total = time.perf_counter() - started
    assert usage is not None, "the server sent no usage"
    return {"ttft_s": first or total, "total_s": total, "prompt_tokens": usage.prompt_tokens,
            "completion_tokens": usage.completion_tokens}


def bench_single(client: OpenAI, model: str, max_tokens: int) -> dict[str, Any]:
    runs = [stream_once(client, model, p, max_tokens) for p in PROMPTS[:2]]
    tokens = sum(r["completion_tokens"] for r in runs)
    seconds = sum(r["total_s"] for r in runs)
    decode = [(r["completion_tokens"] - 1) / (r["total_s"] - r["ttft_s"]) for r in runs if r["completion_tokens"] > 1]
    return {
        "requests": len(runs),
        "completion_tokens": tokens,
        "tokens_per_s": round(tokens / seconds, 2),
        "decode_tokens_per_s": round(statistics.mean(decode), 2),
        "ttft_s": round(statistics.median(r["ttft_s"] for r in runs), 3),
    }


def bench_concurrent(client: OpenAI, model: str, max_tokens: int, n: int) -> dict[str, Any]:
    results: list[dict[str, float]] = [{} for _ in range(n)]

    def work(i: int) -> None:
        results[i] = stream_once(client, model, PROMPTS[i % len(PROMPTS)], max_tokens)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(n)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    tokens = sum(r["completion_tokens"] for r in results)
    return {
        "requests": n,
        "completion_tokens": tokens,
        "wall_s": round(wall, 2),
        "tokens_per_s": round(tokens / wall, 2),
        "ttft_s_median": round(statistics.median(r["ttft_s"] for r in results), 3),
        "ttft_s_max": round(max(r["ttft_s"] for r in results), 3),
    }


def bench_prefill(client: OpenAI, model: str, repeats: int) -> dict[str, Any]:
    """Prompt processing: a long prompt with one output token; a unique first line defeats the prefix cache."""
    body = FILLER * repeats + "\nSummarise the text above in one word."

    def once(prefix: str) -> tuple[int, float]:
        started = time.perf_counter()
        reply = client.chat.completions.create(model=model, max_tokens=1, temperature=0,
                                               messages=[{"role": "user", "content": prefix + body}])
        return reply.usage.prompt_tokens, time.perf_counter() - started

    tokens, cold = once(f"Request {uuid.uuid4()}.\n")
    fixed = f"Request {uuid.uuid4()}.\n"
    once(fixed)
    _, cached = once(fixed)  # the same prompt again: served from the prefix cache
    return {"prompt_tokens": tokens, "cold_s": round(cold, 2), "tokens_per_s": round(tokens / cold, 1),
            "cached_s": round(cached, 2)}


def bench_inprocess(settings: Settings, max_tokens: int) -> dict[str, Any]:
    from models.llm.inprocess import InProcessChatModel

    started = time.perf_counter()
    chat = InProcessChatModel.from_settings(settings, max_tokens=max_tokens)
    chat.invoke("Hi", max_tokens=1)  # load the weights
    load_s = time.perf_counter() - started
    runs = []
    for prompt in PROMPTS[:2]:
        t0 = time.perf_counter()
        first = None
        usage: dict[str, int] = {}
        for chunk in chat.stream(prompt):
            if chunk.content and first is None:
                first = time.perf_counter() - t0
            if chunk.usage_metadata:
                usage = dict(chunk.usage_metadata)
        runs.append({"total_s": time.perf_counter() - t0, "ttft_s": first, "tokens": usage.get("output_tokens", 0)})
    tokens = sum(r["tokens"] for r in runs)
    seconds = sum(r["total_s"] for r in runs)
    return {"load_s": round(load_s, 1), "requests": len(runs), "completion_tokens": tokens,
            "tokens_per_s": round(tokens / seconds, 2),
            "ttft_s": round(statistics.median(r["ttft_s"] or r["total_s"] for r in runs), 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--max-tokens", type=int, default=128)
    parser.add_argument("--prefill-repeats", type=int, default=30, help="filler paragraphs in the prefill prompt")
    parser.add_argument("--skip-inprocess", action="store_true")
    parser.add_argument("--stop", action="store_true", help="stop the engine afterwards")
    args = parser.parse_args()
    settings = get_settings()

    already = server.probe(server.local_root(settings), settings.llm_api_key) is not None or bool(settings.llm_base_url)
    started = time.perf_counter()
    info = server.ensure_running(settings)
    startup_s = None if already else round(time.perf_counter() - started, 1)
    client = OpenAI(base_url=info.base_url, api_key=settings.llm_api_key, max_retries=0,
                    http_client=httpx.Client(trust_env=False, timeout=None))
    stream_once(client, info.model, "Hello", 4)  # warm-up

    results: dict[str, Any] = {
        "machine": {"cpus": len(os.sched_getaffinity(0)), "machine": platform.machine(),
                    "python": platform.python_version(),
                    # Other work on the same cores slows every figure; the load says how much there was.
                    "load_avg_1m_start": round(os.getloadavg()[0], 2)},
        "engine": {"base_url": info.base_url, "model": info.model, "startup_s": startup_s,
                   "dtype": settings.engine_dtype, "max_model_len": info.max_model_len},
        "max_tokens": args.max_tokens,
    }
    results["vllm_single"] = bench_single(client, info.model, args.max_tokens)
    results["vllm_concurrent_4"] = bench_concurrent(client, info.model, args.max_tokens, 4)
    results["vllm_prefill"] = bench_prefill(client, info.model, args.prefill_repeats)
    st = server.status(settings)
    results["engine"]["memory_gib"] = round(st.memory_bytes / 2**30, 2) if st.memory_bytes else None
    if not args.skip_inprocess:
        results["inprocess_single"] = bench_inprocess(settings, args.max_tokens)
        results["vllm_over_inprocess"] = round(
            results["vllm_single"]["tokens_per_s"] / results["inprocess_single"]["tokens_per_s"], 2)
    results["machine"]["load_avg_1m_end"] = round(os.getloadavg()[0], 2)
    if args.stop:
        server.stop(settings)

    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print_table(results)
    print(f"\nwritten to {RESULTS}")


def print_table(r: dict[str, Any]) -> None:
    rows = [
        ("engine start-up", f"{r['engine']['startup_s']} s" if r["engine"]["startup_s"] else "already running"),
        ("engine memory (PSS)", f"{r['engine']['memory_gib']} GiB" if r["engine"]["memory_gib"] else "-"),
        ("vLLM, 1 request", f"{r['vllm_single']['tokens_per_s']} tok/s "
                            f"(decode {r['vllm_single']['decode_tokens_per_s']} tok/s), "
                            f"first token {r['vllm_single']['ttft_s']} s"),
        ("vLLM, 4 concurrent", f"{r['vllm_concurrent_4']['tokens_per_s']} tok/s together, "
                               f"first token median {r['vllm_concurrent_4']['ttft_s_median']} s"),
        ("prompt processing", f"{r['vllm_prefill']['tokens_per_s']} tok/s "
                              f"({r['vllm_prefill']['prompt_tokens']} tokens in {r['vllm_prefill']['cold_s']} s; "
                              f"cached prefix {r['vllm_prefill']['cached_s']} s)"),
    ]
    if "inprocess_single" in r:
        ip = r["inprocess_single"]
        rows.append(("in-process, 1 request", f"{ip['tokens_per_s']} tok/s, first token {ip['ttft_s']} s "
                                              f"(load {ip['load_s']} s)"))
        rows.append(("vLLM / in-process", f"{r['vllm_over_inprocess']}x"))
    width = max(len(name) for name, _ in rows)
    print(f"\nLLM engine benchmark ({r['engine']['model']}, {r['engine']['dtype']}, "
          f"{r['machine']['cpus']} CPUs, load {r['machine']['load_avg_1m_start']}-{r['machine']['load_avg_1m_end']}, "
          f"max_tokens {r['max_tokens']})")
    for name, value in rows:
        print(f"  {name:<{width}}  {value}")


if __name__ == "__main__":
    main()
