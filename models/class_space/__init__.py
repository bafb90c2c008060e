"""Keyframes in the text-embedding space without CLIP weights: ImageNet and COCO class names
embedded once (`names.py`, `names.json`) and mixed by a keyframe's class probabilities (`space.py`)."""

from models.class_space.space import (
    ClassSpace,
    keyframe_vector,
    keyframe_vectors,
    load_class_space,
    with_context,
)

__all__ = ["ClassSpace", "keyframe_vector", "keyframe_vectors", "load_class_space", "with_context"]
