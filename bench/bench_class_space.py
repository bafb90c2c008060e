"""Class-space variants, scored without re-ingesting: source-level R@1 / R@5 of the class-space
signal alone (each source ranked by its best keyframe), on labelled visual queries.

    python bench/bench_class_space.py --base HOME:QUERIES[:KIND] [--base ...] [--out FILE]

Each `--base` is an ingested ARGUS_HOME, its query file and optionally the one query
`kind` to keep (the demo corpus: `visual_object`). Keyframe vectors are recomputed
in-process from the class evidence in each catalog under every variant:

- crops: whole-frame tagger only, or also the 2x2 grid, the centre and the detected boxes;
- source context: 0 (the default) or 0.5 of the source's mean vector added to each keyframe's;
- top-k ImageNet classes mixed: 5, 10, 20;
- how the views pool their probabilities (`class_space_view_max_share`): the weighted mean
  (0), the maximum (1), or a share of each (0.25, 0.5, 0.75);
- the COCO detections' weight against the ImageNet probability mass: 0, 1, 2, 4;
- the colour terms' weight (`class_space_colour_weight`): 0, 0.25, 0.5, 1, 2;
- query centring: the query taken off the class centroid too, or left as embedded;
- the image half's weight (`class_space_image_weight`): 0 (ConSE alone), 0.5, 1, 2: the
  query mapped into the tagger's embedding space against each keyframe's stored embedding,
  summed with the ConSE cosine (`models/class_space/image_map.py`);
- scene words: a general scene vocabulary (Places365-style indoor/outdoor categories,
  `SCENES` below) inferred from each keyframe's class mix by a fixed rule (centred cosine
  with each scene word, softmax at temperature 0.05 over the best three) and mixed in at
  weight 0.25, 0.5 or 1. Measured to hurt, so the rule lives here, not in the product.

Writes the table to stdout and JSON to `--out` (default bench/results/class_space.json).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from core.settings import get_settings  # noqa: E402
from models.class_space.space import ClassSpace, _current, keyframe_vector, load_class_space, with_context  # noqa: E402

SCENES = (
    "kitchen:厨房|bathroom:浴室|bedroom:卧室|living room:客厅|dining room:餐厅|office:办公室|classroom:教室|"
    "conference room:会议室|library:图书馆|restaurant:饭店|coffee shop:咖啡馆|bar:酒吧|supermarket:超市|shop:商店|"
    "market:市场|garage:车库|workshop:车间|laboratory:实验室|hospital room:病房|museum:博物馆|church:教堂|gym:健身房|"
    "stadium:体育场|swimming pool:游泳池|stage:舞台|street:街道|highway:公路|parking lot:停车场|bridge:桥|"
    "train station:火车站|airport:机场|harbor:港口|beach:海滩|ocean:大海|lake:湖|river:河|waterfall:瀑布|mountain:山|"
    "forest:森林|field:田野|garden:花园|park:公园|desert:沙漠|snowfield:雪地|sky:天空|outer space:太空|"
    "city skyline:城市天际线|temple:寺庙|palace:宫殿|farm:农场|launch pad:发射台|underwater:水下|playground:游乐场|"
    "studio:演播室"
).split("|")
SCENE_TOP, SCENE_TEMPERATURE = 3, 0.05


@dataclass(frozen=True)
class Variant:
    crops: bool = True
    context: float = 0.0
    top_k: int = 10
    centre_query: bool = False
    scene_words: float = 0.0
    object_weight: float = 2.0
    colour_weight: float = 0.0
    view_max_share: float = 0.5
    people_weight: float = 0.5
    image_weight: float = 1.0

    def label(self) -> str:
        return (f"crops={'on' if self.crops else 'off'} context={self.context} top_k={self.top_k} "
                f"centre_query={'on' if self.centre_query else 'off'} scene_words={self.scene_words} "
                f"object_weight={self.object_weight} colour_weight={self.colour_weight} "
                f"view_max_share={self.view_max_share} people_weight={self.people_weight} "
                f"image_weight={self.image_weight}")


VARIANTS = [
    Variant(),  # the shipped defaults
    Variant(image_weight=0.0),
    Variant(image_weight=0.5),
    Variant(image_weight=2.0),
    Variant(crops=False),
    Variant(view_max_share=0.0),
    Variant(view_max_share=0.25),
    Variant(view_max_share=0.75),
    Variant(view_max_share=1.0),
    Variant(object_weight=0.0),
    Variant(object_weight=1.0),
    Variant(object_weight=4.0),
    Variant(colour_weight=0.25),
    Variant(colour_weight=0.5),
    Variant(colour_weight=1.0),
    Variant(colour_weight=2.0),
    Variant(context=0.5),
    Variant(top_k=5),
    Variant(top_k=20),
    Variant(centre_query=True),
    Variant(scene_words=0.25),
    Variant(scene_words=0.5),
    Variant(scene_words=1.0),
    Variant(people_weight=0.0),
    Variant(people_weight=0.25),
    Variant(people_weight=1.0),
    Variant(people_weight=2.0),
]


def scene_vectors() -> np.ndarray:
    from models.text_embedding import embed_texts, load_class_embedder

    embedder = load_class_embedder()  # the class space's model, in whose space the scene words must lie
    english = embed_texts([s.split(":")[0] for s in SCENES], query=False, embedder=embedder)
    chinese = embed_texts([s.split(":")[1] for s in SCENES], query=False, embedder=embedder)
    both = english + chinese
    return both / np.linalg.norm(both, axis=1, keepdims=True)


def with_scenes(evidence: dict, space: ClassSpace, scenes: np.ndarray, variant: Variant) -> np.ndarray | None:
    """`keyframe_vector`, with the scene-word rule mixed in before centring."""
    vector = keyframe_vector(evidence, space, top_k=variant.top_k, crops=variant.crops,
                             object_weight=variant.object_weight, colour_weight=variant.colour_weight,
                             view_max_share=variant.view_max_share, people_weight=variant.people_weight)
    if vector is None or variant.scene_words <= 0:
        return vector
    centred_scenes = scenes - space.center
    centred_scenes /= np.linalg.norm(centred_scenes, axis=1, keepdims=True)
    scores = centred_scenes @ vector
    top = np.argsort(-scores)[:SCENE_TOP]
    weights = np.exp((scores[top] - scores[top[0]]) / SCENE_TEMPERATURE)
    mix = (weights[:, None] * (scenes[top] - space.center)).sum(axis=0) / weights.sum()
    mixed = vector + variant.scene_words * mix / max(float(np.linalg.norm(mix)), 1e-12)
    return mixed / np.linalg.norm(mixed)


def load_base(home: str, queries: str, kind: str | None):
    from pipelines.store.catalog import Catalog

    settings = get_settings()
    catalog = Catalog(Path(home) / "catalog.sqlite", Path(home))
    rows = [r for r in catalog.indexed_rows() if r.kind == "keyframe"]
    names = {sid: catalog.get_source(sid).name for sid in catalog.source_ids()}
    labelled = [json.loads(line) for line in Path(queries).read_text(encoding="utf-8").splitlines() if line.strip()]
    del settings
    return rows, names, [q for q in labelled if kind is None or q.get("kind") == kind]


def score(base, space: ClassSpace, scenes: np.ndarray, variant: Variant) -> dict[str, float]:
    from models.class_space import ImageMap, load_image_map
    from models.text_embedding import embed_class_query

    fitted = load_image_map(get_settings().model_copy(update={"class_space_image_weight": 1.0}))  # any weight > 0
    image_map = ImageMap(fitted.matrix, variant.image_weight) if variant.image_weight > 0 else None
    rows, names, labelled = base
    by_source: dict[int, list] = {}
    for row in rows:
        by_source.setdefault(row.source_id, []).append(row)
    owners, vectors = [], []
    for source_id, source_rows in by_source.items():
        found = [with_scenes(_current(r.evidence, space), space, scenes, variant) for r in source_rows]
        for row, vector in zip(source_rows, with_context(found, variant.context), strict=True):
            if vector is not None:
                owners.append(source_id)
                vectors.append(vector if image_map is None else image_map.keyframe(vector, row.image_embedding))
    matrix = np.stack(vectors)
    r1 = r5 = 0
    for q in labelled:
        raw = np.array(embed_class_query(q["query"]))
        query = raw - space.center if variant.centre_query else raw  # the ConSE half's query only
        query = query / np.linalg.norm(query)
        scores = matrix @ (query if image_map is None else image_map.join(query, image_map.image_direction(raw)))
        best: dict[int, float] = {}
        for owner, s in zip(owners, scores, strict=True):
            best[owner] = max(best.get(owner, -1.0), float(s))
        ranked = [names[i] for i in sorted(best, key=lambda i: -best[i])]
        r1 += ranked[:1] == [q["source"]]
        r5 += q["source"] in ranked[:5]
    n = max(1, len(labelled))
    return {"n": len(labelled), "recall@1": round(r1 / n, 3), "recall@5": round(r5 / n, 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", action="append", required=True, help="HOME:QUERIES[:KIND]")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "class_space.json")
    args = parser.parse_args()
    os.environ.setdefault("ARGUS_HOME", args.base[0].split(":")[0])
    space = load_class_space()
    scenes = scene_vectors()
    bases = {spec: load_base(*(spec.split(":") + [None])[:3]) for spec in args.base}
    results = []
    for variant in VARIANTS:
        row = {"variant": variant.label(), **{spec: score(base, space, scenes, variant) for spec, base in bases.items()}}
        results.append(row)
        print(row["variant"], " | ".join(f"{Path(s.split(':')[1]).name}: R@1 {row[s]['recall@1']:.3f} "
                                         f"R@5 {row[s]['recall@5']:.3f} (n={row[s]['n']})" for s in bases))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main()
