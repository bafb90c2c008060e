"""Query latency of `Retriever.search` (rerank off), exact (flat) vs HNSW vector search.

    ARGUS_HOME=.argus python bench/bench_retrieval.py \\
        --demo-home /tmp/argus_r/home --demo-queries /tmp/demo_r/queries.jsonl
    ARGUS_HOME=.argus python bench/bench_retrieval.py --chunks 5000 --images 5000   # a quick run
    ARGUS_HOME=.argus nice -n 10 python bench/bench_retrieval.py --build-only       # build the cached base
    ARGUS_HOME=.argus python bench/bench_retrieval.py --vectors-only   # flat vs HNSW on its chunk vectors

Two bases:

- the demo base (an ingested ARGUS_HOME, copied first so it is never written to) with its
  labelled queries;
- a synthetic base of `--chunks` document chunks and `--images` keyframes, written through
  the catalog and `IndexWriter` (so publishing builds the index types chosen by size). It is
  cached under `--cache` and reused while its parameters are unchanged.

Synthetic data. Texts are English (words of this repository's docs and the demo transcripts)
and Chinese (jieba's dictionary, by frequency); each chunk mixes the words of two topics.
Text vectors: the real e5 embedding of each topic's text (one per topic); a chunk's vector
mixes its two topics' embeddings plus a little noise, so the set keeps the low-dimensional
shape of real embeddings (isotropic noise would be an unrealistically hard case for HNSW).
Image vectors are synthetic: 64-d topic mixtures projected to 1280-d and rectified, like
pooled CNN features. Queries are a topic's words, embedded by the real e5 model per query.

Flat and HNSW run in one process on one index version (`index_exact_search` switches the
reader), alternating query by query so machine load affects both alike. Recall@10 of HNSW
is measured against the exact search of the same query vectors. The machine's load average
is recorded with every figure. Results are printed and written to bench/results/retrieval.json.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import platform
import pstats
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from core.settings import Settings, get_settings  # noqa: E402
from core.types import Chunk, Keyframe, Source, SourceType, Tag  # noqa: E402
from pipelines.retrieve.search import Retriever  # noqa: E402
from pipelines.store.catalog import Catalog, SourceRecord  # noqa: E402
from pipelines.store.index_writer import IndexWriter  # noqa: E402
from pipelines.store.indexes import current_version, open_indexes  # noqa: E402

RESULTS = REPO / "bench" / "results" / "retrieval.json"
DEFAULT_CACHE = Path(os.environ.get("ARGUS_BENCH_DIR", Path(tempfile.gettempdir()) / "argus_bench")) / "retrieval"
TARGET_P95_MS = 200.0
ROWS_PER_SOURCE = 100
TOPIC_WORDS = 15
IMAGE_DIM, IMAGE_LATENT = 1280, 64
console = Console()


# -- the synthetic base ---------------------------------------------------------------


def english_words() -> list[str]:
    """Words of the repository's docs and the demo corpus, most frequent first."""
    counts: dict[str, int] = {}
    texts = [p.read_text(errors="ignore") for p in (REPO / "docs").rglob("*.md")]
    texts += [p.read_text(errors="ignore") for p in (REPO / "pipelines" / "demo").rglob("*.py")]
    for text in texts:
        for word in re.findall(r"[a-z]{3,}", text.lower()):
            counts[word] = counts.get(word, 0) + 1
    return sorted(counts, key=counts.get, reverse=True)


def chinese_words(limit: int = 30000) -> list[str]:
    """Jieba's dictionary words of two or more characters, most frequent first."""
    import jieba

    rows = (line.split() for line in (Path(jieba.__file__).parent / "dict.txt").read_text().splitlines())
    words = [(w, int(f)) for w, f, *_ in rows if len(w) >= 2 and all("\u4e00" <= ch <= "\u9fff" for ch in w)]
    return [w for w, _ in sorted(words, key=lambda x: -x[1])[:limit]]


class TextTopics:
    """Topics with their own words (half English, half Chinese) and Zipf background words."""

    def __init__(self, n_topics: int, rng: np.random.Generator):
        self.rng = rng
        self.vocab = {"en": np.asarray(english_words()), "zh": np.asarray(chinese_words())}
        self.cdf = {lang: self._zipf_cdf(len(words)) for lang, words in self.vocab.items()}
        self.lang = ["en" if i % 2 == 0 else "zh" for i in range(n_topics)]
        self.words = [self._draw(lang, TOPIC_WORDS, skip=200) for lang in self.lang]  # rarer words carry topics

    def save(self, path: Path) -> None:
        path.write_text(json.dumps({"lang": self.lang, "words": self.words}, ensure_ascii=False))

    def load(self, path: Path) -> TextTopics:
        """The topics a cached base was built with (the docs' vocabulary may have changed since)."""
        saved = json.loads(path.read_text())
        self.lang, self.words = saved["lang"], saved["words"]
        return self

    @staticmethod
    def _zipf_cdf(n: int) -> np.ndarray:
        weights = 1.0 / np.arange(1, n + 1)
        return np.cumsum(weights / weights.sum())

    def _draw(self, lang: str, n: int, skip: int = 0) -> list[str]:
        """n words by Zipf frequency, leaving out the `skip` most frequent."""
        cdf = self.cdf[lang]
        low = cdf[skip - 1] if skip else 0.0
        picks = np.searchsorted(cdf, low + self.rng.random(n) * (cdf[-1] - low))
        return self.vocab[lang][np.minimum(picks, len(cdf) - 1)].tolist()

    def join(self, lang: str, words: list[str]) -> str:
        return (" " if lang == "en" else "").join(words)

    def topic_text(self, topic: int) -> str:
        return self.join(self.lang[topic], self.words[topic])

    def chunk_text(self, main: int, other: int, n_words: int = 90) -> str:
        lang = self.lang[main]
        own = list(self.rng.choice(self.words[main], size=n_words // 3))
        own += list(self.rng.choice(self.words[other], size=n_words // 10))
        words = own + self._draw(lang, n_words - len(own))
        self.rng.shuffle(words)
        return self.join(lang, words)

    def query(self, topic: int) -> str:
        return self.join(self.lang[topic], list(self.rng.choice(self.words[topic], size=4, replace=False)))


def mixed_vectors(centres: np.ndarray, pairs: np.ndarray, noise: float, rng: np.random.Generator) -> np.ndarray:
    """3/4 of one centre, 1/4 of another, plus Gaussian noise; L2-normalised."""
    vectors = 0.75 * centres[pairs[:, 0]] + 0.25 * centres[pairs[:, 1]]
    vectors += noise * rng.standard_normal(vectors.shape).astype(np.float32)
    return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)


def image_vectors(pairs: np.ndarray, n_topics: int, rng: np.random.Generator) -> np.ndarray:
    space = np.random.default_rng(13)  # the same topics and projection for the base and its queries
    latent_centres = space.standard_normal((n_topics, IMAGE_LATENT)).astype(np.float32)
    projection = space.standard_normal((IMAGE_LATENT, IMAGE_DIM)).astype(np.float32)
    latent = mixed_vectors(latent_centres, pairs, noise=0.05, rng=rng)
    features = np.maximum(latent @ projection, 0.0)
    return (features / np.linalg.norm(features, axis=1, keepdims=True)).astype(np.float32)


def synthetic_home(cache: Path, n_chunks: int, n_images: int, n_topics: int) -> tuple[Path, dict]:
    """The cached synthetic base for these sizes, built (through catalog + IndexWriter) if missing."""
    home = cache / f"home-{n_chunks}c-{n_images}i-{n_topics}t"
    stamp = home / "bench_build.json"
    if stamp.exists():
        console.print(f"synthetic base: reusing {home}")
        return home, json.loads(stamp.read_text())
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    settings = bench_settings(home)
    rng = np.random.default_rng(7)
    timings: dict[str, float] = {}

    clock = time.perf_counter()
    topics = TextTopics(n_topics, rng)
    topics.save(home / "bench_topics.json")
    from models.text_embedding import embed_passages

    centres = embed_passages([topics.topic_text(t) for t in range(n_topics)])
    timings["embed_topics_s"] = time.perf_counter() - clock

    clock = time.perf_counter()
    chunk_pairs = rng.integers(0, n_topics, size=(n_chunks, 2))
    text_vectors = mixed_vectors(centres, chunk_pairs, noise=0.02, rng=rng)
    image_pairs = rng.integers(0, n_topics, size=(n_images, 2))
    images = image_vectors(image_pairs, n_topics, rng)
    labels = english_words()[100:1100]  # tags: a thousand-label vocabulary, like ImageNet's
    catalog = Catalog(settings.catalog_path, settings.home)
    for start in range(0, n_chunks, ROWS_PER_SOURCE):
        part = range(start, min(start + ROWS_PER_SOURCE, n_chunks))
        chunks = [Chunk(ordinal=i - start, text=topics.chunk_text(*chunk_pairs[i]), page=1 + (i - start) // 4)
                  for i in part]
        catalog.add_source(SourceRecord(source=_source(f"doc{start}", SourceType.document, topics.lang[chunk_pairs[start, 0]]),
                                        chunks=chunks, text_vectors={"chunk": list(text_vectors[part.start:part.stop])}))
    for start in range(0, n_images, ROWS_PER_SOURCE):
        part = range(start, min(start + ROWS_PER_SOURCE, n_images))
        keyframes = [Keyframe(t=float(i - start) * 5, path=f"media/v{start}/kf_{i - start:04d}.jpg",
                              tags=[Tag(label=labels[j % len(labels)], score=0.5) for j in image_pairs[i]])
                     for i in part]
        catalog.add_source(SourceRecord(source=_source(f"video{start}", SourceType.video, "en"), keyframes=keyframes,
                                        image_vectors=list(images[part.start:part.stop])))
    timings["catalog_s"] = time.perf_counter() - clock

    clock = time.perf_counter()
    writer = IndexWriter(settings, catalog)
    writer.rebuild()
    writer.publish()
    timings["index_publish_s"] = time.perf_counter() - clock
    catalog.close()
    manifest = json.loads((settings.index_dir / current_version(settings) / "manifest.json").read_text())
    build = {"chunks": n_chunks, "images": n_images, "topics": n_topics, "search": manifest["search"],
             "hnsw": manifest["hnsw"], "load_avg": os.getloadavg(), **{k: round(v, 1) for k, v in timings.items()}}
    stamp.write_text(json.dumps(build, indent=1))
    return home, build


def _source(name: str, type_: SourceType, language: str) -> Source:
    return Source(content_hash=f"{name:0>64}", path=f"/bench/{name}", name=name, type=type_, mime="text/plain",
                  language=language, size_bytes=1, duration_s=500.0 if type_ == SourceType.video else None)


# -- measuring ------------------------------------------------------------------------


def bench_settings(home: Path, **overrides) -> Settings:
    """Settings for `home`, keeping the model cache of the ARGUS_HOME this runs under."""
    return Settings(home=home, models_dir=get_settings().model_cache, **overrides)


def percentiles(samples_s: list[float]) -> dict[str, float]:
    ms = np.asarray(samples_s) * 1000
    return {"p50_ms": round(float(np.percentile(ms, 50)), 1), "p95_ms": round(float(np.percentile(ms, 95)), 1),
            "mean_ms": round(float(ms.mean()), 1), "n": len(ms)}


def timed(run: Callable[[str], object], query: str) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process): CPU time is what a busy machine does not inflate."""
    wall, cpu = time.perf_counter(), time.process_time()
    run(query)
    return time.perf_counter() - wall, time.process_time() - cpu


def compare(runs: dict[str, Callable[[str], object]], queries: list[str], rounds: int) -> dict[str, dict]:
    """Latency of each run over the queries, alternating runs query by query."""
    for run in runs.values():  # warm-up: models, index files, Whoosh caches
        for query in queries[:3]:
            run(query)
    samples: dict[str, list[tuple[float, float]]] = {name: [] for name in runs}
    load_before = os.getloadavg()
    for _ in range(rounds):
        for query in queries:
            for name, run in runs.items():
                samples[name].append(timed(run, query))
    load = [round(x, 2) for x in (*load_before, *os.getloadavg())]
    return {name: {**percentiles([w for w, _ in s]), "cpu": percentiles([c for _, c in s]),
                   "load_avg_before_after": load} for name, s in samples.items()}


def recall_at_10(settings: Settings, which: str, queries: np.ndarray) -> dict[str, float]:
    """Recall@10 and per-search time of the HNSW index against exact search of the same vectors."""
    approximate = getattr(open_indexes(settings), which)
    exact = getattr(open_indexes(settings.model_copy(update={"index_exact_search": True})), which)
    if approximate.search_type != "hnsw":
        return {"search_type": approximate.search_type}
    found, t_exact, t_ann = 0, [], []
    for query in queries:
        start = time.perf_counter()
        truth = {h[:2] for h in exact.search(query, 10)}
        t_exact.append(time.perf_counter() - start)
        start = time.perf_counter()
        found += len(truth & {h[:2] for h in approximate.search(query, 10)})
        t_ann.append(time.perf_counter() - start)
    return {"search_type": "hnsw", "recall@10": round(found / (10 * len(queries)), 4), "vectors": len(exact),
            "flat_search": percentiles(t_exact), "hnsw_search": percentiles(t_ann)}


def profile(run: Callable[[str], object], queries: list[str], top: int = 12) -> str:
    profiler = cProfile.Profile()
    profiler.enable()
    for query in queries:
        run(query)
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(top)
    return out.getvalue()


def searcher(settings: Settings) -> Callable[[str], object]:
    """A full search each call: the query-vector cache is emptied first, so rounds that repeat
    a query still pay for its embedding."""
    from models.text_embedding import clear_query_cache

    retriever = Retriever(settings, channels=("keyword", "dense", "visual"))

    def run(query: str) -> object:
        clear_query_cache()
        return retriever.search(query, 10, rerank=False)

    return run


def bench_demo(home: Path, queries_file: Path, rounds: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "home"
        shutil.copytree(home, copy, ignore=shutil.ignore_patterns("models", "writer.lock"))
        settings = bench_settings(copy)
        queries = [json.loads(line)["query"] for line in queries_file.read_text().splitlines() if line.strip()]
        ix = open_indexes(settings)
        sizes = {"dense": len(ix.dense), "image": len(ix.image), "search": ix.dense.search_type}
        result = compare({"search": searcher(settings)}, queries, rounds)["search"]
    return {"queries": len(queries), "rounds": rounds, "indexes": sizes, **result}


def bench_synthetic(args: argparse.Namespace) -> dict:
    home, build = synthetic_home(args.cache, args.chunks, args.images, args.topics)
    settings = bench_settings(home)
    exact = settings.model_copy(update={"index_exact_search": True})
    rng = np.random.default_rng(11)
    topics = TextTopics(args.topics, rng).load(home / "bench_topics.json")
    topic_ids = rng.choice(args.topics, size=args.queries, replace=False)
    queries = [topics.query(int(t)) for t in topic_ids]
    runs = {"flat": searcher(exact), "hnsw": searcher(settings)}
    latency = compare(runs, queries, args.rounds)

    from models.text_embedding import embed_query

    query_vectors = np.stack([embed_query(q) for q in queries])
    image_queries = image_vectors(rng.integers(0, args.topics, size=(args.queries, 2)), args.topics, rng)
    result = {"build": build, "queries": len(queries), "rounds": args.rounds, "latency": latency,
              "dense": recall_at_10(settings, "dense", query_vectors),
              "image": recall_at_10(settings, "image", image_queries)}
    if args.profile:
        result["profile_hnsw"] = profile(runs["hnsw"], queries[:40])
        console.print(result["profile_hnsw"])
    return result


def bench_vectors_only(args: argparse.Namespace) -> dict:
    """Flat vs HNSW on the cached base's stored chunk vectors alone (no Whoosh, no publish).

    For when the full base has not finished building: the dense index's share of a query."""
    import faiss

    from models.text_embedding import embed_query
    from pipelines.store.index_writer import build_hnsw
    from pipelines.store.indexes import ID_SHIFT, KIND_CODES, VectorIndex

    home = args.cache / f"home-{args.chunks}c-{args.images}i-{args.topics}t"
    catalog = Catalog(home / "catalog.sqlite", home)
    rows = catalog._query("SELECT id, embedding FROM chunks ORDER BY id")
    catalog.close()
    vectors = np.stack([np.frombuffer(r["embedding"], dtype=np.float32) for r in rows])
    ids = np.asarray([(KIND_CODES["chunk"] << ID_SHIFT) | r["id"] for r in rows], dtype=np.int64)
    flat = faiss.IndexIDMap2(faiss.IndexFlatIP(vectors.shape[1]))
    flat.add_with_ids(vectors, ids)
    settings = get_settings()
    start = time.perf_counter()
    hnsw = build_hnsw(flat, settings.index_hnsw_m, settings.index_hnsw_ef_construction)
    build_s = time.perf_counter() - start
    topics = TextTopics(args.topics, np.random.default_rng(11)).load(home / "bench_topics.json")
    queries = np.stack([embed_query(topics.query(t)) for t in range(0, args.topics, args.topics // args.queries)])
    exact = VectorIndex(flat, packed_ids=True)
    approximate = VectorIndex(hnsw, packed_ids=True, search_type="hnsw", ef_search=settings.index_hnsw_ef_search)
    found, t_flat, t_hnsw = 0, [], []
    for k in (10, 100):  # 100: the visual channel's depth (2 x 50)
        for query in queries:
            t_flat.append(timed(lambda q, k=k: exact.search(q, k), query))
            t_hnsw.append(timed(lambda q, k=k: approximate.search(q, k), query))
    for query in queries:
        found += len({h[:2] for h in exact.search(query, 10)} & {h[:2] for h in approximate.search(query, 10)})
    return {"vectors": len(ids), "dim": int(vectors.shape[1]), "hnsw_build_s": round(build_s, 1),
            "hnsw": {"m": settings.index_hnsw_m, "ef_construction": settings.index_hnsw_ef_construction,
                     "ef_search": settings.index_hnsw_ef_search},
            "recall@10": round(found / (10 * len(queries)), 4), "queries": len(queries),
            "flat_search": {**percentiles([w for w, _ in t_flat]), "cpu": percentiles([c for _, c in t_flat])},
            "hnsw_search": {**percentiles([w for w, _ in t_hnsw]), "cpu": percentiles([c for _, c in t_hnsw])},
            "load_avg_after": os.getloadavg()}


# -- report ---------------------------------------------------------------------------


def show(results: dict) -> None:
    table = Table(title="Retriever.search latency (keyword + dense + visual, fusion, rerank off)")
    for column in ("base", "vector search", "p50 ms", "p95 ms", "CPU p50 / p95 ms", "load avg (1m before→after)"):
        table.add_column(column)
    if "demo" in results:
        d = results["demo"]
        table.add_row("demo", d["indexes"]["search"], str(d["p50_ms"]), str(d["p95_ms"]),
                      f"{d['cpu']['p50_ms']} / {d['cpu']['p95_ms']}",
                      f"{d['load_avg_before_after'][0]}→{d['load_avg_before_after'][3]}")
    if "synthetic" in results:
        s = results["synthetic"]
        for name, figures in s["latency"].items():
            table.add_row(f"{s['build']['chunks']} chunks + {s['build']['images']} images", name,
                          str(figures["p50_ms"]), str(figures["p95_ms"]),
                          f"{figures['cpu']['p50_ms']} / {figures['cpu']['p95_ms']}",
                          f"{figures['load_avg_before_after'][0]}→{figures['load_avg_before_after'][3]}")
    console.print(table)
    if "synthetic" in results:
        s = results["synthetic"]
        console.print(f"HNSW/flat p50 {s['ratio_p50']:.2f}, p95 {s['ratio_p95']:.2f}; target p95 ≤ {TARGET_P95_MS} ms: "
                      f"{'met' if s['latency']['hnsw']['p95_ms'] <= TARGET_P95_MS else 'MISSED'}")
        for which in ("dense", "image"):
            r = s[which]
            if r.get("search_type") == "hnsw":
                console.print(f"{which}: recall@10 {r['recall@10']} over {r['vectors']} vectors; one search p50 "
                              f"flat {r['flat_search']['p50_ms']} ms, HNSW {r['hnsw_search']['p50_ms']} ms")
        console.print(f"build: {s['build']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--demo-home", type=Path, help="an ingested demo ARGUS_HOME (copied, never written)")
    parser.add_argument("--demo-queries", type=Path, help="its labelled queries (JSONL)")
    parser.add_argument("--chunks", type=int, default=100_000)
    parser.add_argument("--images", type=int, default=100_000)
    parser.add_argument("--topics", type=int, default=2000)
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help="where synthetic bases are kept")
    parser.add_argument("--skip-synthetic", action="store_true")
    parser.add_argument("--build-only", action="store_true", help="build (or find) the synthetic base and stop")
    parser.add_argument("--vectors-only", action="store_true",
                        help="flat vs HNSW on the cached base's chunk vectors only (its catalog must exist)")
    parser.add_argument("--profile", action="store_true", help="print a cProfile of the HNSW search path")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    if args.build_only:
        console.print(synthetic_home(args.cache, args.chunks, args.images, args.topics)[1])
        return

    results: dict = {"machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                                 "python": platform.python_version(), "load_avg_start": os.getloadavg()},
                     "target_p95_ms": TARGET_P95_MS}
    if args.demo_home and args.demo_queries:
        results["demo"] = bench_demo(args.demo_home, args.demo_queries, args.rounds)
    if args.vectors_only:
        results["synthetic_vectors"] = bench_vectors_only(args)
        console.print(results["synthetic_vectors"])
    elif not args.skip_synthetic:
        s = bench_synthetic(args)
        s["ratio_p50"] = s["latency"]["hnsw"]["p50_ms"] / s["latency"]["flat"]["p50_ms"]
        s["ratio_p95"] = s["latency"]["hnsw"]["p95_ms"] / s["latency"]["flat"]["p95_ms"]
        results["synthetic"] = s
    show(results)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1, ensure_ascii=False))
    console.print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
