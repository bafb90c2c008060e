"""Fault and abuse campaign against a real `argus serve` on loopback, measured.

    nice -n 10 .venv/bin/python bench/fault_campaign.py [--repeats 3] [--load-seconds 60] [--clients 20]

Phases (each row of the table in docs/reliability.md comes from one):

1. hostile uploads (`bench/fault_inputs.py`): each kind `--repeats` times;
2. hostile server-side paths under an ingest root (2 GB sparse file, symlinks out, `..`);
3. hostile requests (JSON bombs, oversized bodies and URLs, bad UTF-8, many ranges);
4. `kill -9` of the API during a 20-file ingest under search load, then a restart and the
   same ingest again: sources lost, duplicated or half-written (no chunks) are counted;
5. `--clients` concurrent clients for `--load-seconds` mixing search, ask and ingest.

After every request the server must still answer /healthz. A 5xx answer is a server error;
a dead server is a crash. Writes bench/results/fault_campaign.json and prints the table.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import httpx
import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
from fault_inputs import path_cases, raw_multipart, request_cases, upload_cases  # noqa: E402

RESULTS = ROOT / "bench" / "results" / os.environ.get("FAULT_CAMPAIGN_RESULTS", "fault_campaign.json")
TERMINAL = ("done", "failed", "skipped")


class Server:
    def __init__(self, home: Path, roots: list[Path]):
        self.home, self.roots = home, roots
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None
        self.crashes = 0

    def start(self) -> None:
        env = {**os.environ, "ARGUS_HOME": str(self.home), "ARGUS_INGEST_ROOTS": json.dumps([str(r) for r in self.roots]),
               "ARGUS_API_RATE_LIMIT_PER_MIN": "0", "ARGUS_INGEST_FILE_TIMEOUT_S": "180", "PYTHONPATH": str(ROOT)}
        log = open(self.home.parent / "server.log", "ab")  # noqa: SIM115 — lives as long as the server
        self.process = subprocess.Popen([sys.executable, "-m", "app.cli", "serve", "--port", str(self.port),
                                         "--log-level", "warning"], cwd=ROOT, env=env, stdout=log, stderr=log)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.alive(timeout=2):
                return
            time.sleep(0.5)
        raise SystemExit("argus serve did not start; see server.log")

    def alive(self, timeout: float = 10) -> bool:
        try:
            return httpx.get(f"{self.url}/healthz", timeout=timeout).status_code == 200
        except httpx.HTTPError:
            return False

    def check(self) -> None:
        """Count a crash (and restart) when the server no longer answers."""
        if not self.alive():
            self.crashes += 1
            self.stop()
            self.start()

    def kill9(self) -> list[int]:
        """SIGKILL the API; the pids of its worker processes left behind."""
        assert self.process is not None
        children = [c.pid for c in psutil.Process(self.process.pid).children(recursive=True)]
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait()
        time.sleep(3)
        return [p for p in children if psutil.pid_exists(p) and psutil.Process(p).status() != psutil.STATUS_ZOMBIE]

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()


def settle(client: httpx.Client, ids: list[int], timeout: float = 900) -> dict[int, dict]:
    deadline = time.monotonic() + timeout
    while True:
        jobs = {i: client.get(f"/v1/jobs/{i}").json() for i in ids}
        if all(j["status"] in TERMINAL for j in jobs.values()) or time.monotonic() > deadline:
            return jobs
        time.sleep(1)


def row(kind: str, tried: int, outcomes: Counter, server_errors: int, lost: str = "nothing") -> dict:
    return {"kind": kind, "tried": tried, "outcomes": dict(outcomes), "server_errors": server_errors, "lost": lost}


def phase_uploads(server: Server, repeats: int) -> list[dict]:
    cases = upload_cases()
    stats: dict[str, Counter] = {c.kind: Counter() for c in cases}
    errors: Counter = Counter()
    with httpx.Client(base_url=server.url, timeout=600) as client:
        for _ in range(repeats):
            batch = [c for c in cases if c.expect != "refused"]
            r = client.post("/v1/ingest", files=[("files", (c.name, c.data, "application/octet-stream")) for c in batch])
            assert r.status_code == 202, r.text
            jobs = settle(client, [j["id"] for j in r.json()["jobs"]])
            for case, job in zip(batch, sorted(jobs.values(), key=lambda j: j["id"]), strict=True):
                reason = (job.get("error") or "").split(":")[0][:60]
                stats[case.kind][f"{job['status']}" + (f" ({reason})" if reason else "")] += 1
            for case in (c for c in cases if c.expect == "refused"):
                body, ctype = raw_multipart(case.name.encode("utf-8"), case.data)
                r = client.post("/v1/ingest", content=body, headers={"content-type": ctype})
                stats[case.kind][f"HTTP {r.status_code}"] += 1
                errors[case.kind] += r.status_code >= 500
            server.check()
    return [row(c.kind, repeats, stats[c.kind], errors[c.kind]) for c in cases]


def phase_paths(server: Server, root: Path, outside: Path, repeats: int) -> list[dict]:
    rows = []
    with httpx.Client(base_url=server.url, timeout=600) as client:
        for case in path_cases(root, outside):
            outcomes: Counter = Counter()
            errors = 0
            for _ in range(repeats):
                r = client.post("/v1/ingest", json={"paths": [str(case.path)]})
                errors += r.status_code >= 500
                if r.status_code == 202:
                    body = r.json()
                    jobs = settle(client, [j["id"] for j in body["jobs"]])
                    outcomes.update(f"{j['status']} ({(j.get('error') or '')[:50]})" for j in jobs.values())
                    outcomes.update(f"rejected ({x['reason'][:40]})" for x in body["rejected"])
                else:
                    outcomes[f"HTTP {r.status_code}"] += 1
                server.check()
            leaked = any("never ingested" in (c.get("text") or "") for c in _all_chunks(client))
            rows.append(row(case.kind, repeats, outcomes, errors, "outside file ingested!" if leaked else "nothing"))
    return rows


def _all_chunks(client: httpx.Client) -> list[dict]:
    chunks = []
    for source in client.get("/v1/sources").json():
        chunks += client.get(f"/v1/sources/{source['id']}").json().get("chunks", [])
    return chunks


def phase_requests(server: Server, repeats: int) -> list[dict]:
    rows = []
    with httpx.Client(base_url=server.url, timeout=120) as client:
        for case in request_cases():
            outcomes: Counter = Counter()
            errors = 0
            for _ in range(repeats):
                try:
                    r = client.request(case.method, case.url, content=case.body,
                                       headers={"content-type": "application/json", **(case.headers or {})})
                    outcomes[f"HTTP {r.status_code}"] += 1
                    errors += r.status_code >= 500
                except httpx.HTTPError as exc:
                    outcomes[type(exc).__name__] += 1
                server.check()
            rows.append(row(case.kind, repeats, outcomes, errors))
    return rows


DOC = "# Campaign document {i}\n\nUnique marker zq{i}x. " + "The harbour crane lifts containers at dawn. " * 120


def phase_kill9(server: Server, root: Path) -> dict:
    folder = root / "batch20"
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(20):
        (folder / f"doc{i:02d}.md").write_text(DOC.format(i=i))
    stop = threading.Event()
    load = Counter()

    def search_load() -> None:
        with httpx.Client(base_url=server.url, timeout=30) as c:
            while not stop.is_set():
                try:
                    load[f"HTTP {c.post('/v1/search', json={'query': 'harbour crane', 'k': 5}).status_code}"] += 1
                except httpx.HTTPError:
                    load["no answer (server down)"] += 1
                    time.sleep(0.2)

    threads = [threading.Thread(target=search_load, daemon=True) for _ in range(4)]
    for t in threads:
        t.start()
    with httpx.Client(base_url=server.url, timeout=600) as client:
        r = client.post("/v1/ingest", json={"paths": [str(folder)]})
        ids = [j["id"] for j in r.json()["jobs"]]
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            done = sum(client.get(f"/v1/jobs/{i}").json()["status"] == "done" for i in ids)
            if done >= 3:
                break
            time.sleep(0.3)
    orphans = server.kill9()
    server.start()
    with httpx.Client(base_url=server.url, timeout=600) as client:
        after_restart = _campaign_sources(client)
        r = client.post("/v1/ingest", json={"paths": [str(folder)]})
        settle(client, [j["id"] for j in r.json()["jobs"]])
        final = _campaign_sources(client)
        found = sum(1 for i in range(20) if any(f"zq{i}x" in (c.get("text") or "")
                                                for s in final for c in s["chunks"]))
        searchable = sum(1 for i in range(20)
                         if any(f"doc{i:02d}.md" == h["source"]
                                for h in client.post("/v1/search", json={"query": f"zq{i}x", "k": 3}).json()["results"]))
    stop.set()
    for t in threads:
        t.join(timeout=40)
    names = [s["name"] for s in final]
    return {"committed_before_kill": len(after_restart), "half_written_after_restart": sum(not s["chunks"] for s in after_restart),
            "final_sources": len(final), "duplicates": len(names) - len(set(names)),
            "half_written": sum(not s["chunks"] for s in final), "lost": 20 - len(set(names)),
            "markers_found": found, "searchable": searchable, "orphan_workers": len(orphans),
            "search_load": dict(load)}


def _campaign_sources(client: httpx.Client) -> list[dict]:
    out = []
    for s in client.get("/v1/sources").json():
        if s["name"].startswith("doc") and s["name"].endswith(".md"):
            out.append({"name": s["name"], "chunks": client.get(f"/v1/sources/{s['id']}").json()["chunks"]})
    return out


async def phase_load(server: Server, clients: int, seconds: float) -> dict:
    statuses: Counter = Counter()
    kinds: Counter = Counter()
    latencies: dict[str, list[float]] = {"search": [], "ask": [], "ingest": []}
    end = time.monotonic() + seconds

    async def client_loop(n: int) -> None:
        rng = random.Random(n)
        async with httpx.AsyncClient(base_url=server.url, timeout=300) as c:
            i = 0
            while time.monotonic() < end:
                i += 1
                pick = rng.random()
                started = time.perf_counter()
                try:
                    if pick < 0.8:
                        kind, r = "search", await c.post("/v1/search", json={"query": f"harbour crane {rng.randint(0, 99)}"})
                    elif pick < 0.85:
                        kind, r = "ask", await c.post("/v1/ask", json={"question": "What does the harbour crane lift?"})
                    else:
                        data = f"# Load note {n}-{i}\n\nClient {n} wrote note {i} during the load test.\n".encode()
                        kind, r = "ingest", await c.post("/v1/ingest", files={"files": (f"load_{n}_{i}.md", data, "text/markdown")})
                    statuses[f"{kind} HTTP {r.status_code}"] += 1
                    kinds[kind] += 1
                    latencies[kind].append(time.perf_counter() - started)
                except httpx.HTTPError as exc:
                    statuses[f"{kind if 'kind' in dir() else 'request'} {type(exc).__name__}"] += 1

    await asyncio.gather(*(client_loop(n) for n in range(clients)))
    server_errors = sum(v for k, v in statuses.items() if " HTTP 5" in k)

    def p(values: list[float], q: float) -> float | None:
        return round(sorted(values)[int(q * (len(values) - 1))], 3) if values else None

    return {"clients": clients, "seconds": seconds, "requests": dict(kinds), "statuses": dict(statuses),
            "server_errors": server_errors,
            "p50_s": {k: p(v, 0.5) for k, v in latencies.items()}, "p95_s": {k: p(v, 0.95) for k, v in latencies.items()}}


def phase_engine_kill(work: Path, repeats: int) -> dict:
    """A second API whose LLM engine (bench/dying_engine.py) is killed mid-answer, `repeats` times
    for a plain and a streamed /v1/ask: the client must get a clear error, and the API must go on."""
    from core.settings import Settings

    model = Settings().llm_model
    server = Server(work / "home", [])
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        engine_port = s.getsockname()[1]
    os.environ["ARGUS_LLM_BASE_URL"] = f"http://127.0.0.1:{engine_port}/v1"
    outcomes: Counter = Counter()
    errors = 0
    try:
        server.start()
        with httpx.Client(base_url=server.url, timeout=300) as client:
            note = b"# Harbour\n\nThe harbour crane lifts containers at dawn.\n"
            r = client.post("/v1/ingest", files={"files": ("harbour_engine.md", note, "text/markdown")})
            settle(client, [j["id"] for j in r.json()["jobs"]])  # something to answer from, once published
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline and not any(
                    h["source"] == "harbour_engine.md"
                    for h in client.post("/v1/search", json={"query": "harbour crane"}).json()["results"]):
                time.sleep(1)
            for _ in range(repeats):
                for stream in (False, True):
                    engine = subprocess.Popen([sys.executable, str(ROOT / "bench" / "dying_engine.py"), str(engine_port), model])
                    time.sleep(1.5)
                    r = client.post("/v1/ask", json={"question": "What does the harbour crane lift?", "stream": stream})
                    tail = r.text.strip().splitlines()[-1][:90] if r.text.strip() else ""
                    outcomes[f"{'stream' if stream else 'plain'}: HTTP {r.status_code} {tail}"] += 1
                    errors += r.status_code >= 500 and r.status_code not in (502, 503, 504)
                    try:
                        engine.wait(timeout=30)
                    except subprocess.TimeoutExpired:
                        outcomes["engine not reached"] += 1
                        engine.kill()
                        engine.wait()
                    search = client.post("/v1/search", json={"query": "harbour crane"})
                    outcomes[f"search afterwards: HTTP {search.status_code}"] += 1
                    server.check()
    finally:
        os.environ.pop("ARGUS_LLM_BASE_URL", None)
        server.stop()
    return row("LLM engine killed mid-answer (plain and streamed /v1/ask)", 2 * repeats, outcomes, errors)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--load-seconds", type=float, default=60)
    parser.add_argument("--phases", default="uploads,paths,requests,kill9,load,engine")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="argus-faults-"))
    root, outside = work / "root", work / "outside"
    root.mkdir()
    server = Server(work / "home", [root])
    server.start()
    phases = args.phases.split(",")
    out: dict = {"repeats": args.repeats, "work": str(work)}
    try:
        if "uploads" in phases:
            out["uploads"] = phase_uploads(server, args.repeats)
            print("uploads done", flush=True)
        if "paths" in phases:
            out["paths"] = phase_paths(server, root, outside, args.repeats)
            print("paths done", flush=True)
        if "requests" in phases:
            out["requests"] = phase_requests(server, args.repeats)
            print("requests done", flush=True)
        if "kill9" in phases:
            out["kill9"] = phase_kill9(server, root)
            print("kill9 done", flush=True)
        if "load" in phases:
            out["load"] = asyncio.run(phase_load(server, args.clients, args.load_seconds))
            print("load done", flush=True)
        out["crashes"] = server.crashes
        server.stop()
        if "engine" in phases:
            out["engine"] = phase_engine_kill(work, args.repeats)
    finally:
        server.stop()
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps(out, indent=2, ensure_ascii=False) + "\n")
    for r in out.get("uploads", []) + out.get("paths", []) + out.get("requests", []) + [out.get("engine") or {}]:
        if not r:
            continue
        outcomes = "; ".join(f"{k} ×{v}" for k, v in r["outcomes"].items())
        print(f"| {r['kind']} | {r['tried']} | {outcomes} | {r['server_errors']} | {r['lost']} |")
    print(json.dumps({k: out.get(k) for k in ("kill9", "load", "crashes")}, indent=2))
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
