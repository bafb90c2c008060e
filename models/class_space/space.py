"""The class space: every ImageNet and COCO class as a vector in the text-embedding space,
and keyframe vectors mixed from them (ConSE: Norouzi et al. 2014, "Zero-Shot Learning by
Convex Combination of Semantic Embeddings").

A keyframe's class evidence (the tagger's top classes over the whole frame and its crops,
the detector's objects down to a low score) becomes

    v = normalise( (P * sum_i p_i s_i / sum_i p_i  +  W D * sum_l d_l c_l / sum_l d_l
                    +  C * sum_k a_k h_k / sum_k a_k) / (P + W D + C) - centroid )

with s_i the ImageNet class vectors of the top-k probabilities p_i pooled over the views
(`aggregate_probabilities`), c_l the
COCO class vectors of the detected labels weighted by d_l (best score times
(1 + log of the count)), P the ImageNet probability mass kept, D the best detection
score, h_k the vectors of the frame's colour terms covering shares a_k of it (`colours.py`),
C their weight (`class_space_colour_weight`), and W the objects' weight (`class_space_object_weight`, 2: a detection is located
evidence of a thing in the frame, where a tag's probability is spread over look-alike
classes; 1.5-4 all scored 10 of the 13 development queries first against 9 at 1, and the
demo's 12 of 13 either way). A text query (English or Chinese) embedded by the same model then scores the
keyframe by cosine, like any passage.

Class names and queries meet in EmbeddingGemma-300M's space by default (`class_space_model`;
on the real-footage development queries the class-space signal alone put every target in
the top 5, against 16 of 19 in multilingual-e5-small's, the dense channel's model). Class
vectors are embedded once per class-name data and model, and cached in the model cache
(`<models>/class_space/<fingerprint>.npy`); a change to `names.json`, the label files or
the embedding model gives a new fingerprint and a rebuild (~1,400 short texts: about 5 s
with e5, 35 s with EmbeddingGemma on two cores).
"""

from __future__ import annotations

import math
import os
import threading
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Literal

import numpy as np

from core.settings import Settings, get_settings
from models.class_space.names import (
    ClassText,
    coco_texts,
    colour_texts,
    fingerprint,
    imagenet_texts,
    people_bucket,
    people_texts,
)

EVIDENCE_VERSION = 1
CROP_KINDS = ("grid", "centre", "box")  # views other than the whole frame


@dataclass(frozen=True)
class ClassSpace:
    imagenet: np.ndarray  # (1000, dim), L2-normalised rows, in class-index order
    coco: dict[str, np.ndarray]  # COCO label -> (dim,)
    colours: dict[str, np.ndarray]  # colour term -> (dim,)
    fingerprint: str
    imagenet_index: dict[str, int]  # first English name -> class index (stored tags name classes so)
    center: np.ndarray  # (dim,) the mean class vector, taken off keyframe vectors
    all_classes: np.ndarray  # (n, dim) every class vector (ImageNet then COCO): a query's background
    all_centred: np.ndarray  # the same, centred and renormalised
    people: dict[int, np.ndarray] = field(default_factory=dict)  # people-count phrase (names.PEOPLE) -> (dim,)


_lock = threading.Lock()
_loaded: dict[str, ClassSpace] = {}


def load_class_space(settings: Settings | None = None, *, model: Literal["class", "text"] = "class") -> ClassSpace:
    """The class vectors in the class space's embedding (`class_space_model`), or with
    `model="text"` in the text-embedding model's, where a query's text rows are compared
    with class names (`fusion.text_share`). Built and cached on first use."""
    from models.text_embedding import load_class_embedder, load_text_embedder
    from models.vision import load_tagger_labels

    settings = settings or get_settings()
    embedder = load_class_embedder(settings) if model == "class" else load_text_embedder(settings)
    texts, key = _texts_and_key(embedder.name)
    with _lock:
        if key not in _loaded:
            index = {line.split(",")[0].strip(): i for i, line in enumerate(load_tagger_labels())}
            _loaded[key] = _build(list(texts), key, settings.model_cache / "class_space", index, embedder)
        return _loaded[key]


@lru_cache(maxsize=4)
def _texts_and_key(embedder_name: str) -> tuple[tuple[ClassText, ...], str]:
    """The class texts and their fingerprint, once per process: every search asks for the class
    space twice (its own model's and the text model's), and hashing ~1,100 texts took 3 ms."""
    from models.vision import COCO_LABELS, load_tagger_labels

    texts = (imagenet_texts(load_tagger_labels()) + coco_texts(list(dict.fromkeys(COCO_LABELS.values())))
             + colour_texts() + people_texts())
    return tuple(texts), fingerprint(texts, embedder_name)


def keyframe_vectors(evidence: list[dict], settings: Settings | None = None) -> list[np.ndarray | None]:
    """The class-space vectors of one source's keyframes (in order), with the source context if set."""
    settings = settings or get_settings()
    space = load_class_space(settings)
    vectors = [keyframe_vector(_current(e, space), space, top_k=settings.class_space_top_k, crops=settings.visual_crops,
                               object_weight=settings.class_space_object_weight,
                               colour_weight=settings.class_space_colour_weight,
                               view_max_share=settings.class_space_view_max_share,
                               people_weight=settings.class_space_people_weight)
               for e in evidence]
    return with_context(vectors, settings.class_space_source_context)


def _current(evidence: dict, space: ClassSpace) -> dict:
    """Evidence in today's form: a keyframe stored before evidence was kept has tags by label."""
    if "tag_labels" not in evidence:
        return evidence
    top = [[space.imagenet_index[label], p] for label, p in evidence["tag_labels"] if label in space.imagenet_index]
    return {"v": EVIDENCE_VERSION, "views": [{"kind": "frame", "w": 1.0, "top": top}],
            "objects": evidence.get("objects", [])}


def _build(texts: list[ClassText], key: str, folder: Path, imagenet_index: dict[str, int], embedder) -> ClassSpace:
    path = folder / f"{key}.npy"
    if path.is_file():
        matrix = np.load(path)
    else:
        matrix = _embed(texts, embedder)
        folder.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
        with open(tmp, "wb") as fh:
            np.save(fh, matrix)
        os.replace(tmp, path)
    n_imagenet = sum(t.key.startswith("imagenet:") for t in texts)
    named = {kind: {t.key.split(":", 1)[1]: matrix[i] for i, t in enumerate(texts) if t.key.startswith(f"{kind}:")}
             for kind in ("coco", "colour", "people")}
    things = matrix[[i for i, t in enumerate(texts) if t.key.startswith(("imagenet:", "coco:"))]]  # the background
    center = things.mean(axis=0).astype(np.float32)
    return ClassSpace(imagenet=matrix[:n_imagenet], coco=named["coco"], colours=named["colour"], fingerprint=key,
                      imagenet_index=imagenet_index, center=center, all_classes=things,
                      all_centred=_normalise(things - center),
                      people={int(n): v for n, v in named["people"].items()})


def _embed(texts: list[ClassText], embedder) -> np.ndarray:
    """English and Chinese names embedded as passages; a class with both is their normalised mean."""
    from models.text_embedding import embed_texts

    english = embed_texts([t.english for t in texts], query=False, embedder=embedder)
    with_zh = [i for i, t in enumerate(texts) if t.chinese]
    chinese = embed_texts([texts[i].chinese for i in with_zh], query=False, embedder=embedder)
    matrix = english.copy()
    matrix[with_zh] += chinese
    return _normalise(matrix)


# -- keyframe evidence -> vector ----------------------------------------------------------


def aggregate_probabilities(evidence: dict, *, crops: bool, max_share: float = 0.0) -> dict[int, float]:
    """The views' top ImageNet probabilities pooled over the views (whole frame only without
    `crops`): `1 - max_share` of their weighted mean plus `max_share` of their weighted maximum.

    The mean alone dilutes what one view sees clearly (a suit in a person's box, a stove in a
    quarter) by all the views that do not show it; the maximum alone lets one stray view
    decide. Half and half (`class_space_view_max_share`) put 14 of the 19 development
    queries first against 12 with the mean, the demo unchanged; a quarter or three quarters
    of the maximum did worse."""
    views = [v for v in evidence.get("views", []) if crops or v.get("kind") == "frame"]
    total = sum(float(v.get("w", 1.0)) for v in views)
    mean: dict[int, float] = {}
    peak: dict[int, float] = {}
    for view in views:
        w = float(view.get("w", 1.0))
        for index, p in view.get("top", []):
            i, p = int(index), float(p)
            mean[i] = mean.get(i, 0.0) + w / total * p
            peak[i] = max(peak.get(i, 0.0), w * p)
    return {i: (1 - max_share) * mean[i] + max_share * peak[i] for i in mean}


def object_weights(evidence: dict) -> dict[str, float]:
    """Per COCO label: its best score times (1 + log of how many were detected)."""
    best: dict[str, float] = {}
    count: dict[str, int] = {}
    for label, score, _area in evidence.get("objects", []):
        best[label] = max(best.get(label, 0.0), float(score))
        count[label] = count.get(label, 0) + 1
    return {label: best[label] * (1 + math.log(count[label])) for label in best}


def keyframe_vector(evidence: dict, space: ClassSpace, *, top_k: int = 10, crops: bool = True,
                    object_weight: float = 2.0, colour_weight: float = 0.0,
                    view_max_share: float = 0.5, people_weight: float = 0.0) -> np.ndarray | None:
    """The keyframe's class-space vector, centred (None when it has no class evidence at all).

    The mix is convex (a weighted mean of class vectors), then the class centroid is taken
    off: e5 vectors share a large common direction (unrelated texts have cosine ~0.8), and
    a keyframe with weak, spread evidence mixes towards that centroid and so sat near every
    query (a "hub"). Queries stay as embedded: centring them too ranked a little worse
    (8 against 9 of the 13 development queries).

    With `people_weight`, the COCO "person" vector leans towards the phrase of how many
    people were detected ("two people", "a crowd"; `names.PEOPLE`)."""
    probs = aggregate_probabilities(evidence, crops=crops, max_share=view_max_share)
    top = sorted(probs.items(), key=lambda kv: -kv[1])[:top_k]
    parts: list[tuple[float, np.ndarray]] = []
    mass = sum(p for _, p in top)
    if mass > 0:
        parts.append((mass, sum(p * space.imagenet[i] for i, p in top) / mass))
    objects = {label: w for label, w in object_weights(evidence).items() if label in space.coco}
    if objects:
        total = sum(objects.values())
        best = max(float(score) for label, score, _ in evidence.get("objects", []) if label in space.coco)
        person = _person_vector(evidence, space, people_weight)
        parts.append((object_weight * best,
                      sum(w * (person if label == "person" else space.coco[label]) for label, w in objects.items())
                      / total))
    colours = [(name, float(share)) for name, share in evidence.get("colours", []) if name in space.colours]
    if colours and colour_weight > 0 and parts:  # colour qualifies things seen; alone it matches any frame
        total = sum(share for _, share in colours)
        parts.append((colour_weight, sum(share * space.colours[name] for name, share in colours) / total))
    weight = sum(w for w, _ in parts)
    if weight <= 0:
        return None
    mixed = sum(w * v for w, v in parts) / weight - space.center
    norm = float(np.linalg.norm(mixed))
    return (mixed / norm).astype(np.float32) if norm > 1e-9 else None


def _person_vector(evidence: dict, space: ClassSpace, people_weight: float) -> np.ndarray | None:
    """COCO's "person", leaning by `people_weight` towards the phrase of how many were detected."""
    person = space.coco.get("person")
    people = sum(1 for label, _, _ in evidence.get("objects", []) if label == "person")
    if person is None or not people or people_weight <= 0 or not space.people:
        return person
    lean = person + people_weight * space.people[people_bucket(people)]
    return lean / np.linalg.norm(lean)


def with_context(vectors: list[np.ndarray | None], weight: float) -> list[np.ndarray | None]:
    """Each vector plus `weight` times the mean of all of them (a source's keyframes), renormalised:
    a keyframe then also carries what the rest of its video shows."""
    present = [v for v in vectors if v is not None]
    if weight <= 0 or len(present) < 2:
        return vectors
    mean = _normalise(np.mean(present, axis=0, keepdims=True))[0]
    return [None if v is None else _normalise((v + weight * mean)[None])[0] for v in vectors]


def _normalise(matrix: np.ndarray) -> np.ndarray:
    matrix = np.asarray(matrix, dtype=np.float32)
    return matrix / np.maximum(np.linalg.norm(matrix, axis=-1, keepdims=True), 1e-12)
