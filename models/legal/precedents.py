"""The precedent base: FAISS over the facts of judged cases, each with its outcome as metadata.

Vectors come from the project's text embedder (`models.text_embedding`, by default multilingual-e5-small,
384-d, L2-normalised), so an inner-product index scores cosine similarity. Each entry keeps the case id, its
charges, articles, fine, prison term, life/death flags and the start of its fact.

Search is pre-filtered by charge: only cases carrying one of the predicted charges are scored (a FAISS ID
selector). Pre-filtering can miss relevant cases when the prediction is wrong or the charge is rare, so when
fewer than `min_filtered` filtered cases pass the similarity floor the search runs again over all cases.

The build is incremental: cases are keyed by a hash of their fact, and only facts not yet in the base are
embedded, so re-running it after adding cases (or on the same file) costs only the new ones; the base is
saved after every chunk, so an interrupted build keeps what it embedded. A base built with another embedder is
rebuilt from scratch. Facts are embedded from their first `EMBED_CHARS` characters: the start of a CAIL2018
fact tells what happened, and embedding cost grows with length (seconds per fact on a busy 2-core CPU).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.settings import Settings
from core.types import Precedent
from models.legal.data import Case

INDEX_FILE = "index.faiss"
RECORDS_FILE = "records.jsonl"
MANIFEST_FILE = "manifest.json"
EMBED_CHARS = 256
EXCERPT_CHARS = 300
SAVE_EVERY = 128  # facts embedded between saves


def fact_key(fact: str) -> str:
    return hashlib.sha1(fact.strip().encode("utf-8")).hexdigest()


def _record(case: Case) -> dict:
    return {"key": fact_key(case.fact), "case_id": case.id, "charges": list(case.charges),
            "articles": list(case.articles), "fine": case.fine, "prison_months": case.prison_months,
            "life": case.life, "death": case.death, "fact": case.fact[:EXCERPT_CHARS]}


def embed(settings: Settings, texts: Sequence[str], *, query: bool) -> np.ndarray:
    """(n, dim) float32 L2-normalised vectors of the facts' starts."""
    from models.text_embedding import embed_texts

    return embed_texts([t[:EMBED_CHARS] for t in texts], query=query, settings=settings)


def embedder_name(settings: Settings) -> str:
    from models.text_embedding import load_text_embedder

    return load_text_embedder(settings).name


@dataclass
class SearchResult:
    precedents: list[Precedent]
    filtered: bool  # True: all of them carry one of the requested charges


class PrecedentBase:
    def __init__(self, folder: Path, index, records: list[dict], embedder: str):
        self.folder = folder
        self.index = index
        self.records = records
        self.embedder = embedder
        self._by_charge: dict[str, list[int]] = {}
        for row, record in enumerate(records):
            for charge in record["charges"]:
                self._by_charge.setdefault(charge, []).append(row)

    def __len__(self) -> int:
        return len(self.records)

    # ------------------------------------------------------------------------------------------ building
    @classmethod
    def build(cls, cases: Sequence[Case], folder: Path, settings: Settings,
              progress: Callable[[int, int], object] | None = None) -> tuple[PrecedentBase, int]:
        """Add the cases not yet in the base at `folder` (creating it); returns the base and how many were added."""
        import faiss

        name = embedder_name(settings)
        existing = cls.open(folder) if (folder / MANIFEST_FILE).is_file() else None
        if existing is not None and existing.embedder != name:
            existing = None  # vectors of another model do not mix
        keys = {r["key"] for r in existing.records} if existing else set()
        new: list[Case] = []
        for case in cases:
            key = fact_key(case.fact)
            if key not in keys:
                keys.add(key)
                new.append(case)
        base = existing
        if base is None:
            from models.text_embedding import load_text_embedder

            base = cls(folder, faiss.IndexFlatIP(load_text_embedder(settings).dim), [], name)
        for start in range(0, len(new), SAVE_EVERY):
            chunk = new[start:start + SAVE_EVERY]
            base.index.add(embed(settings, [c.fact for c in chunk], query=False))
            base.records += [_record(c) for c in chunk]
            base.save()
            if progress is not None:
                progress(start + len(chunk), len(new))
        base = cls(folder, base.index, base.records, name)  # refresh the charge lists
        base.save()
        return base, len(new)

    def save(self) -> None:
        import faiss

        self.folder.mkdir(parents=True, exist_ok=True)
        faiss.write_index(self.index, str(self.folder / INDEX_FILE))
        with (self.folder / RECORDS_FILE).open("w", encoding="utf-8") as f:
            for record in self.records:
                f.write(json.dumps(record, ensure_ascii=False) + "\n")
        manifest = {"embedder": self.embedder, "dim": self.index.d, "count": len(self.records)}
        (self.folder / MANIFEST_FILE).write_text(json.dumps(manifest, indent=1), encoding="utf-8")

    @classmethod
    def open(cls, folder: Path) -> PrecedentBase:
        import faiss

        if not (folder / MANIFEST_FILE).is_file():
            raise FileNotFoundError(f"no precedent base in {folder}; build one with `argus legal index`")
        manifest = json.loads((folder / MANIFEST_FILE).read_text(encoding="utf-8"))
        records = [json.loads(line) for line in (folder / RECORDS_FILE).read_text(encoding="utf-8").splitlines()]
        index = faiss.read_index(str(folder / INDEX_FILE))
        if index.ntotal != len(records) or manifest["count"] != len(records):
            raise RuntimeError(f"the precedent base in {folder} is inconsistent; rebuild it with `argus legal index`")
        return cls(folder, index, records, manifest["embedder"])

    # ------------------------------------------------------------------------------------------ search
    def search(self, query: np.ndarray, charges: Sequence[str], k: int, min_similarity: float,
               min_filtered: int) -> SearchResult:
        """Top-k precedents at least `min_similarity` similar: same-charge ones, else any (see module doc)."""
        rows = sorted({r for c in charges for r in self._by_charge.get(c, [])})
        if rows:
            hits = self._search(query, k, min_similarity, rows)
            if len(hits) >= min(min_filtered, k):
                return SearchResult(hits, filtered=True)
        return SearchResult(self._search(query, k, min_similarity, None), filtered=False)

    def _search(self, query: np.ndarray, k: int, min_similarity: float, rows: list[int] | None) -> list[Precedent]:
        import faiss

        params = None
        if rows is not None:
            params = faiss.SearchParameters(sel=faiss.IDSelectorBatch(np.asarray(rows, dtype=np.int64)))
        scores, ids = self.index.search(query.reshape(1, -1).astype(np.float32), k, params=params)
        out = []
        for score, row in zip(scores[0], ids[0], strict=True):
            if row < 0 or score < min_similarity:
                continue
            r = self.records[row]
            out.append(Precedent(case_id=r["case_id"], charges=r["charges"], articles=r["articles"], fine=r["fine"],
                                 prison_months=r["prison_months"], life=r["life"], death=r["death"],
                                 similarity=float(score), fact=r["fact"]))
        return out
