"""The class space's image half: a visual query carried into the tagger's own image-embedding space.

ConSE (`space.py`) goes from the image to words: a keyframe is the mix of the class names
its top probabilities name, so what the top ten classes of its views miss is lost. This goes
the other way (Shigeto et al. 2015, "Ridge Regression, Hubness, and Zero-Shot Learning":
mapping the semantic space into the visual one, not back, gives fewer hubs). A ridge
regression from the 1,000 ImageNet class texts' vectors to the classifier's weight rows
(each class's direction in the tagger's 1280-d pooled embedding, `ImageTagger.class_weights`)
maps a query's vector to a direction there, which scores the whole frame's stored image
embedding: all 1280 features, not ten class names.

A keyframe's class-space vector is then the two halves joined, `[x, sqrt(w) e] / sqrt(1 + w)`
(x its ConSE vector, e its image embedding), and a query's `[q, sqrt(w) m(q)] / sqrt(1 + w)`,
so one inner product in one index is `(cos(q, x) + w cos(m(q), e)) / (1 + w)`: the sum of
the two signals, `w` = `class_space_image_weight`. Summed, they agree on the right keyframe
more often than either alone; taking the better of the two did not help (measured in
docs/eval/retrieval/real_footage.md).

The map is fitted once per class space and tagger (a 768 x 768 solve, well under a second)
and cached beside the class vectors (`<models>/class_space/<key>.image-map.npy`, the key a
hash of the class space's fingerprint, the tagger file, the penalty and `MAP_VERSION`).
"""

from __future__ import annotations

import hashlib
import math
import os
import threading
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from core.settings import Settings, get_settings

RIDGE = 1.0  # the regression's penalty; 0.3 and 3 scored within a query of it on the development sets
MAP_VERSION = 1  # part of the cache key: raise it when the fit itself changes (targets, tensor)


@dataclass(frozen=True)
class ImageMap:
    matrix: np.ndarray  # (text dim, 1280): a class-space text vector -> an image-embedding direction
    weight: float  # w: the image half's weight against the ConSE half
    names: np.ndarray | None = None  # the class names as keyframes of the joined space (`background`)

    @property
    def dim(self) -> int:
        return self.matrix.shape[0] + self.matrix.shape[1]

    def image_direction(self, text_vectors: np.ndarray) -> np.ndarray:
        """(n, 1280) or (1280,): where text vectors point in the image-embedding space, normalised."""
        return _normalise(np.asarray(text_vectors, dtype=np.float32) @ self.matrix)

    def query(self, class_vector: np.ndarray) -> np.ndarray:
        """A query's joined vector from its class-space text vector."""
        return self.join(class_vector, self.image_direction(class_vector))

    def keyframe(self, class_vector: np.ndarray, image_embedding: np.ndarray | None) -> np.ndarray:
        """A keyframe's joined vector. One without a tagger embedding (none stored, or another
        size) gets a zero image half: it then scores its ConSE cosine alone, divided by 1 + w."""
        size = self.matrix.shape[1]
        if image_embedding is None or np.asarray(image_embedding).shape != (size,):
            return self.join(class_vector, np.zeros(size, np.float32))
        return self.join(class_vector, _normalise(image_embedding))

    def background(self, centred: np.ndarray, raw: np.ndarray) -> np.ndarray:
        """The class names as keyframes of the joined space (a query's background, `query_background`):
        each name's centred ConSE vector beside where its own text points among images."""
        return self.join(centred, self.image_direction(raw))

    def join(self, text: np.ndarray, image: np.ndarray) -> np.ndarray:
        """`[text, sqrt(w) image] / sqrt(1 + w)` (unit halves, or rows of them)."""
        root = math.sqrt(self.weight)
        joined = np.concatenate([np.asarray(text, np.float32), root * np.asarray(image, np.float32)], axis=-1)
        return (joined / math.sqrt(1 + self.weight)).astype(np.float32)


_lock = threading.Lock()
_loaded: dict[tuple[str, str, float], ImageMap] = {}  # (model cache, class space, weight): one per process


def load_image_map(settings: Settings | None = None) -> ImageMap | None:
    """The map for the class space's model and the shipped tagger (None with
    `class_space_image_weight` 0: the class space is ConSE alone, as before)."""
    from models.class_space.space import load_class_space

    settings = settings or get_settings()
    if settings.class_space_image_weight <= 0:
        return None
    space = load_class_space(settings)
    loaded = (str(settings.model_cache), space.fingerprint, settings.class_space_image_weight)
    with _lock:  # every search asks twice: the tagger file is looked up only on the first
        if loaded not in _loaded:
            tagger = _tagger_file()
            identity = f"{space.fingerprint}\t{tagger.name}\t{tagger.stat().st_size}\t{RIDGE}\t{MAP_VERSION}"
            key = hashlib.sha256(identity.encode()).hexdigest()[:16]
            matrix = _cached_map(settings.model_cache / "class_space" / f"{key}.image-map.npy", space.imagenet)
            image_map = ImageMap(matrix, settings.class_space_image_weight)
            _loaded[loaded] = replace(image_map, names=image_map.background(space.all_centred, space.all_classes))
        return _loaded[loaded]


def ridge_map(text: np.ndarray, targets: np.ndarray, penalty: float = RIDGE) -> np.ndarray:
    """(text dim, target dim): argmin_M |text M - targets|^2 + penalty |M|^2."""
    text = np.asarray(text, np.float64)
    gram = text.T @ text + penalty * np.eye(text.shape[1])
    return np.linalg.solve(gram, text.T @ np.asarray(targets, np.float64)).astype(np.float32)


def _cached_map(path: Path, imagenet_text: np.ndarray) -> np.ndarray:
    if path.is_file():
        return np.load(path)
    from models.vision import load_tagger

    matrix = ridge_map(imagenet_text, _normalise(load_tagger().class_weights()))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with open(tmp, "wb") as fh:
        np.save(fh, matrix)
    os.replace(tmp, path)
    return matrix


def _tagger_file() -> Path:
    from models.registry import get_registry

    return Path(get_registry().resolve("image_tagger"))


def _normalise(matrix: np.ndarray) -> np.ndarray:
    matrix = np.asarray(matrix, dtype=np.float32)
    return matrix / np.maximum(np.linalg.norm(matrix, axis=-1, keepdims=True), 1e-12)
