"""REST API search benchmark: `POST /v1/search` under concurrent clients.

    .venv/bin/python bench/bench_api_search.py [--url http://127.0.0.1:8080] [--clients 20] [--seconds 60]
                                               [--queries /tmp/demo_r/queries.jsonl] [--distinct]

Without --url it starts `argus serve` on a free port for the base of ARGUS_HOME (which must be
ingested: `argus demo-corpus` + `argus ingest`), with the rate limit lifted for the run, and
stops it afterwards. Each client is an asyncio task with its own keep-alive connection that
sends the next query as soon as the previous answer arrives (a closed loop). The query set
repeats, as people's questions do, so the server's query-vector cache answers most of the
embedding; --distinct makes every request's text unique (a number appended), so each one
pays for its embedding (the cold worst case). Prints requests/s,
latency percentiles and errors, and writes bench/results/api_search.json. Target: p95 ≤ 300 ms
with 20 clients on 2 CPU cores.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psutil

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "api_search.json"
TARGET_P95_MS = 300

# Used when no query file is given: English and Chinese questions about the demo corpus.
DEFAULT_QUERIES = [
    "How many grams of water should I use per gram of coffee?", "What water temperature is best for brewing?",
    "How often should I change the motorcycle oil?", "Who was the first person to walk on the moon?",
    "Why do cats purr?", "What does a sourdough starter need?", "How do honeybees communicate?",
    "Who deciphered the Rosetta Stone?", "What did Grace Hopper invent?", "ask not what your country can do",
    "大熊猫吃什么", "长城有多长", "茶是什么时候传入欧洲的", "espresso crema", "chain tension",
]


def load_queries(path: Path | None) -> list[str]:
    if path is None:
        return DEFAULT_QUERIES
    return [json.loads(line)["query"] for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(server: subprocess.Popen | None) -> dict[str, float | None]:
    """CPU time so far of this client process and of the server (when this script started it)."""
    server_cpu = None
    if server is not None:
        times = psutil.Process(server.pid).cpu_times()
        server_cpu = times.user + times.system
    return {"client": time.process_time(), "server": server_cpu}


def start_server() -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**os.environ, "ARGUS_API_RATE_LIMIT_PER_MIN": "1000000000", "ARGUS_API_RATE_BURST": "1000000"}
    process = subprocess.Popen([sys.executable, "-m", "app.cli", "serve", "--port", str(port), "--log-level", "warning"],
                               cwd=ROOT, env=env)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/healthz", timeout=2).is_success:
                return process, url
        except httpx.HTTPError:
            pass
        if process.poll() is not None:
            break
        time.sleep(0.5)
    process.terminate()
    raise SystemExit("argus serve did not start")


async def client_loop(http: httpx.AsyncClient, queries: list[str], offset: int, stop_at: float,
                      latencies: list[float], errors: dict[str, int], distinct: Iterator[int] | None) -> None:
    i = offset
    while time.perf_counter() < stop_at:
        query = queries[i % len(queries)]
        if distinct is not None:
            query = f"{query} {next(distinct)}"
        i += 1
        started = time.perf_counter()
        try:
            response = await http.post("/v1/search", json={"query": query, "k": 10})
            if response.status_code == 200:
                latencies.append(time.perf_counter() - started)
            else:
                errors[str(response.status_code)] = errors.get(str(response.status_code), 0) + 1
        except httpx.HTTPError as exc:
            errors[type(exc).__name__] = errors.get(type(exc).__name__, 0) + 1


async def run_load(url: str, queries: list[str], clients: int, seconds: float, distinct: bool) -> dict[str, Any]:
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as http:
        for query in queries[: min(len(queries), 10)]:  # warm-up: models and indexes loaded, not measured
            (await http.post("/v1/search", json={"query": query, "k": 10})).raise_for_status()
        latencies: list[float] = []
        errors: dict[str, int] = {}
        started = time.perf_counter()
        stop_at = started + seconds
        numbers = itertools.count(1) if distinct else None
        await asyncio.gather(*(client_loop(http, queries, n * 7, stop_at, latencies, errors, numbers)
                               for n in range(clients)))
        elapsed = time.perf_counter() - started
    return summarise(latencies, errors, elapsed, clients)


def percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(q / 100 * len(sorted_values)) - 1))
    return sorted_values[index]


def summarise(latencies: list[float], errors: dict[str, int], elapsed: float, clients: int) -> dict[str, Any]:
    ms = sorted(x * 1000 for x in latencies)
    return {
        "clients": clients,
        "seconds": round(elapsed, 1),
        "requests": len(ms),
        "requests_per_s": round(len(ms) / elapsed, 1),
        "latency_ms": {"p50": round(percentile(ms, 50), 1), "p95": round(percentile(ms, 95), 1),
                       "p99": round(percentile(ms, 99), 1), "mean": round(statistics.fmean(ms), 1) if ms else None,
                       "max": round(ms[-1], 1) if ms else None},
        "errors": sum(errors.values()),
        "errors_by_kind": errors,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", help="a running API (default: start `argus serve` for ARGUS_HOME)")
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--queries", type=Path, help="a queries.jsonl of the demo corpus (field 'query')")
    parser.add_argument("--distinct", action="store_true", help="make every request's query unique (no cache hits)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()

    queries = load_queries(args.queries)
    load_before = os.getloadavg()[0]  # the CPU is often shared: say how busy it was
    server, url = (None, args.url.rstrip("/")) if args.url else start_server()
    try:
        sources = httpx.get(f"{url}/v1/sources", timeout=30).json()
        cpu_before = cpu_seconds(server)
        result = asyncio.run(run_load(url, queries, args.clients, args.seconds, args.distinct))
        cpu_after = cpu_seconds(server)
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
    # Where the two cores went: the server's and this client's CPU per answered request.
    answered = max(1, result["requests"])
    result["cpu_ms_per_request"] = {side: round((cpu_after[side] - cpu_before[side]) / answered * 1000, 2)
                                    for side in cpu_after if cpu_after[side] is not None}
    result.update({
        "endpoint": "POST /v1/search (k=10, moment level, no rerank)",
        "base": {"sources": len(sources), "home": os.environ.get("ARGUS_HOME")},
        "queries": len(queries),
        "distinct": args.distinct,
        "target_p95_ms": TARGET_P95_MS,
        "machine": {"cpus": os.cpu_count(), "load_avg_1m_before": round(load_before, 2), "platform": platform.platform(), "python": platform.python_version()},
        "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
    })
    lat = result["latency_ms"]
    print(f"{result['clients']} clients, {result['seconds']} s: {result['requests']} requests, "
          f"{result['requests_per_s']} req/s, errors {result['errors']} {result['errors_by_kind'] or ''}")
    print(f"CPU ms per request: {result['cpu_ms_per_request']}")
    print(f"latency ms: p50 {lat['p50']}  p95 {lat['p95']}  p99 {lat['p99']}  max {lat['max']}  "
          f"(target p95 ≤ {TARGET_P95_MS}: {'met' if lat['p95'] <= TARGET_P95_MS else 'missed'})")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
