"""Keyframes in the text-embedding space without CLIP weights: ImageNet and COCO class names
embedded once (`names.py`, `names.json`) and mixed by a keyframe's class probabilities (`space.py`),
joined with the keyframe's image embedding, which a query reaches through a map fitted to the
tagger's own class weights (`image_map.py`)."""

from models.class_space.image_map import ImageMap, load_image_map
from models.class_space.space import (
    ClassSpace,
    keyframe_vector,
    keyframe_vectors,
    load_class_space,
    with_context,
)

__all__ = ["ClassSpace", "ImageMap", "keyframe_vector", "load_image_map", "keyframe_vectors", "load_class_space", "with_context"]
