"""OCR: PP-OCRv4 text detection + recognition (Chinese and English) via rapidocr_onnxruntime."""

from __future__ import annotations

import threading
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np

from models.registry import get_registry

DET_MODEL = "ch_PP-OCRv4_det_infer.onnx"
REC_MODEL = "ch_PP-OCRv4_rec_infer.onnx"
CLS_MODEL = "ch_ppocr_mobile_v2.0_cls_infer.onnx"
# Images are read with their longer side at this size: smaller ones are upscaled (at
# 640 px, PP-OCR runs the words of a slide line together, "1gofcoffeeper16gofwater"; at
# 960 it reads "1 g of coffee per 16 g of water"), larger ones downscaled for detection.
# (The package default scales the *shorter* side to 736, which costs seconds a frame.)
READ_SIDE = 960
# One ONNX Runtime thread: PP-OCR's small convolutions barely scale, and a second thread
# mostly spin-waits. Measured on the demo keyframes (37 frames, busy 2-core machine):
# 2 threads 40.8 CPU-s, 2 threads without spinning 25.5, 1 thread 20.7, same text.
# Keyframe OCR runs beside transcription, which keeps the other core busy.
READER_THREADS = 1


class TextReader:
    def __init__(self, models: Path, threads: int):
        from rapidocr_onnxruntime import RapidOCR

        self._ocr = RapidOCR(
            det_model_path=str(models / DET_MODEL),
            rec_model_path=str(models / REC_MODEL),
            cls_model_path=str(models / CLS_MODEL),
            det_limit_type="max",
            det_limit_side_len=READ_SIDE,
            intra_op_num_threads=threads,
            inter_op_num_threads=1,
        )
        self._lock = threading.Lock()

    def read(self, image: np.ndarray, *, min_score: float = 0.5) -> str:
        """The text in an RGB image, one line per detected text box, top to bottom."""
        bgr = np.ascontiguousarray(image[:, :, ::-1])
        scale = READ_SIDE / max(bgr.shape[:2])
        if scale > 1:
            bgr = cv2.resize(bgr, None, fx=min(scale, 2.0), fy=min(scale, 2.0), interpolation=cv2.INTER_CUBIC)
        with self._lock:
            # Video frames rarely hold upside-down text: skip the angle classifier.
            result, _ = self._ocr(bgr, use_cls=False)
        if not result:
            return ""
        # RapidOCR returns boxes in reading order (top to bottom, then left to right).
        lines = [text.strip() for _, text, score in result if float(score) >= min_score]
        return "\n".join(line for line in lines if _is_text(line))


def _is_text(line: str) -> bool:
    """A lone Latin letter or digit in a photograph is texture, not writing; one Chinese
    character is a word."""
    return len(line) >= 2 or any("\u4e00" <= ch <= "\u9fff" for ch in line)


def load_reader() -> TextReader:
    return _reader(Path(get_registry().resolve("ocr")), READER_THREADS)


@lru_cache(maxsize=1)
def _reader(models: Path, threads: int) -> TextReader:
    return TextReader(models, threads)
