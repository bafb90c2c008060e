"""What keyframes show, read by the shipped detector, classifier and OCR models."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont
from synth import PHOTOS, photo, write_video

from core.types import Keyframe
from models.vision import COCO_LABELS
from pipelines.ingest.keyframes import select_keyframes
from pipelines.ingest.visual import describe_keyframe, image_embedding

pytestmark = pytest.mark.integration

WITH_OBJECTS = [name for name, (_, label) in PHOTOS.items() if label]  # astronaut, chelsea, coffee, motorcycle


@pytest.fixture(scope="module")
def photo_keyframes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Keyframe]:
    """The photographs as shots of one video, through keyframe selection and description."""
    folder = tmp_path_factory.mktemp("photos")
    video = write_video(folder / "photos.mp4", [(photo(name), 2.0) for name in WITH_OBJECTS], fps=5)
    frames = select_keyframes(video, folder / "kf", top_k=5, min_interval_s=10)
    assert len(frames) == len(WITH_OBJECTS)
    out = {}
    for name, frame in zip(WITH_OBJECTS, frames, strict=True):
        objects, tags, ocr = describe_keyframe(frame.jpeg_path)
        out[name] = Keyframe(t=frame.t, path=str(frame.jpeg_path), objects=objects, tags=tags, ocr=ocr)
    return out


@pytest.mark.parametrize("name", WITH_OBJECTS)
def test_keyframe_objects_name_what_the_photograph_shows(photo_keyframes: dict[str, Keyframe], name: str) -> None:
    keyframe = photo_keyframes[name]
    expected = PHOTOS[name][1]
    assert expected in {o.label for o in keyframe.objects}, keyframe.searchable_text()
    assert expected in keyframe.searchable_text()
    for obj in keyframe.objects:
        assert obj.score >= 0.5
        x0, y0, x1, y1 = obj.box
        assert 0 <= x0 < x1 <= 1 and 0 <= y0 < y1 <= 1


def test_keyframe_tags_are_imagenet_classes(photo_keyframes: dict[str, Keyframe]) -> None:
    assert photo_keyframes["chelsea"].tags[0].label in ("Egyptian cat", "tabby", "tiger cat")
    assert "espresso" in {t.label for t in photo_keyframes["coffee"].tags}
    assert {t.label for t in photo_keyframes["motorcycle"].tags} & {"moped", "motor scooter", "crash helmet"}
    for keyframe in photo_keyframes.values():
        assert all(t.score >= 0.1 for t in keyframe.tags)
        assert keyframe.ocr == ""  # photographs without writing


def test_ocr_reads_a_slide_with_its_word_spaces() -> None:
    import matplotlib

    font = ImageFont.truetype(str(Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"), 22)
    slide = Image.new("RGB", (640, 360), (245, 245, 240))
    draw = ImageDraw.Draw(slide)
    draw.text((40, 60), "The Brewing Ratio", fill=(20, 20, 20), font=ImageFont.truetype(font.path, 34))
    draw.text((40, 140), "1 g of coffee per 16 g of water", fill=(20, 20, 20), font=font)
    draw.text((40, 190), "Water at 92 to 96 degrees", fill=(20, 20, 20), font=font)
    objects, tags, text = describe_keyframe(np.asarray(slide))
    lines = text.lower().splitlines()
    assert lines[0] == "the brewing ratio", text
    assert "1 g of coffee per 16 g of water" in lines, text
    assert any("water at 92 to 96" in line for line in lines), text
    assert objects == []


def test_image_embedding_separates_pictures_and_matches_near_duplicates() -> None:
    cat, coffee = photo("chelsea"), photo("coffee")
    brighter = np.clip(cat.astype(np.int16) + 25, 0, 255).astype(np.uint8)
    v_cat, v_coffee, v_brighter = (image_embedding(x) for x in (cat, coffee, brighter))
    assert v_cat.shape == (1280,) and v_cat.dtype == np.float32
    assert float(np.linalg.norm(v_cat)) == pytest.approx(1.0, abs=1e-5)
    assert float(v_cat @ v_brighter) > 0.9
    assert float(v_cat @ v_coffee) < 0.6


def test_images_are_read_from_files_or_arrays(tmp_path: Path) -> None:
    path = tmp_path / "cat.png"
    Image.fromarray(photo("chelsea")).save(path)
    assert np.allclose(image_embedding(path), image_embedding(photo("chelsea")), atol=1e-6)
    with pytest.raises(ValueError, match="RGB uint8"):
        image_embedding(np.zeros((10, 10), np.uint8))


def test_coco_label_map_is_the_80_class_map() -> None:
    assert len(COCO_LABELS) == 80 and min(COCO_LABELS) == 1 and max(COCO_LABELS) == 90
    assert COCO_LABELS[1] == "person" and COCO_LABELS[17] == "cat" and COCO_LABELS[47] == "cup"
    assert COCO_LABELS[4] == "motorcycle" and COCO_LABELS[90] == "toothbrush"
    assert not {12, 26, 29, 30, 45, 66, 68, 69, 71, 83} & set(COCO_LABELS)


def test_keyframe_evidence_keeps_crops_boxes_and_low_detections() -> None:
    from pipelines.ingest.visual import describe_keyframe_with_evidence

    objects, tags, _, evidence = describe_keyframe_with_evidence(photo("coffee", 480, 360))
    kinds = [v["kind"] for v in evidence["views"]]
    assert kinds[:6] == ["frame", "grid", "grid", "grid", "grid", "centre"]
    assert all(len(v["top"]) == 10 and 0 < v["w"] <= 1 for v in evidence["views"])
    assert all(0 <= i < 1000 and 0 <= p <= 1 for v in evidence["views"] for i, p in v["top"])
    labels = [label for label, _, _ in evidence["objects"]]
    assert "cup" in labels and {o.label for o in objects} <= set(labels)
    assert all(score >= 0.3 and 0 < area <= 1 for _, score, area in evidence["objects"])
    if any(0.03 <= area <= 0.7 for _, _, area in evidence["objects"]):
        assert "box" in kinds  # a detected object of a reasonable size is tagged on its own


def small_in_scene(name: str, share: float) -> np.ndarray:
    """A real landscape (scikit-learn's china.jpg) with a photograph pasted small in its lower right."""
    from sklearn.datasets import load_sample_image

    scene = np.array(Image.fromarray(load_sample_image("china.jpg")).resize((640, 480)))
    h = int(480 * share)
    thing = photo(name, int(h * 4 / 3), h)
    scene[480 - h - 15 : 480 - 15, 640 - thing.shape[1] - 30 : 640 - 30] = thing
    return scene


@pytest.mark.parametrize("name", ["motorcycle", "chelsea"])
def test_detector_tiles_find_an_object_too_small_for_the_whole_frame(name: str) -> None:
    from pipelines.ingest.visual import _detect

    scene, label = small_in_scene(name, 0.18), PHOTOS[name][1]
    assert label not in [o.label for o in _detect(scene, 0.3, tiles=False)]  # lost at 300x300
    found = [o for o in _detect(scene, 0.3, tiles=True) if o.label == label]
    assert len(found) == 1 and found[0].score >= 0.5  # one object, not one per tile that saw it
    x0, y0, x1, y1 = found[0].box
    assert x0 > 0.5 and y0 > 0.6 and x1 <= 1 and y1 <= 1  # where it was pasted, in frame coordinates


def test_tiles_merge_with_the_whole_frames_detection_of_the_same_object() -> None:
    from pipelines.ingest.visual import _detect

    scene = photo("motorcycle", 640, 480)
    whole = [o for o in _detect(scene, 0.3, tiles=False) if o.label == "motorcycle"]
    tiled = [o for o in _detect(scene, 0.3, tiles=True) if o.label == "motorcycle"]
    assert whole and len(tiled) <= len(whole)
    assert max(o.score for o in tiled) >= max(o.score for o in whole)


def test_class_space_puts_english_and_chinese_queries_near_the_right_keyframe() -> None:
    from models.class_space import keyframe_vector, load_class_space
    from models.text_embedding import embed_class_query
    from pipelines.ingest.visual import describe_keyframe_with_evidence

    space = load_class_space()
    assert space.imagenet.shape[0] == 1000 and len(space.coco) == 80
    vectors = {name: keyframe_vector(describe_keyframe_with_evidence(photo(name, 480, 360))[3], space)
               for name in ("chelsea", "coffee", "motorcycle")}
    for query, expected in [("a cat looking at the camera", "chelsea"), ("一只猫", "chelsea"),
                            ("a cup of coffee", "coffee"), ("一杯咖啡", "coffee"),
                            ("a red motorbike", "motorcycle"), ("摩托车", "motorcycle")]:
        q = embed_class_query(query)
        scores = {name: float(v @ q) for name, v in vectors.items()}
        assert max(scores, key=scores.get) == expected, (query, scores)


def test_the_image_map_carries_queries_to_their_classes_and_photographs() -> None:
    """The class space's image half on the shipped tagger: a query mapped into the tagger's
    embedding space lies nearest its own classes' weight rows and the right photograph's embedding."""
    from models.class_space import load_image_map
    from models.text_embedding import embed_class_query
    from models.vision import load_tagger

    image_map = load_image_map()
    assert image_map is not None and image_map.matrix.shape[1] == 1280
    weights = load_tagger().class_weights()
    assert weights.shape == (1000, 1280)
    prototypes = weights / np.linalg.norm(weights, axis=1, keepdims=True)
    cat = image_map.image_direction(embed_class_query("a tabby cat"))
    assert set(np.argsort(-(prototypes @ cat))[:5].tolist()) & {281, 282, 283, 284, 285}  # the cat classes
    embeddings = {name: image_embedding(photo(name, 480, 360)) for name in ("chelsea", "coffee", "motorcycle")}
    for query, expected in [("a cat", "chelsea"), ("一杯咖啡", "coffee"), ("a red motorbike", "motorcycle")]:
        direction = image_map.image_direction(embed_class_query(query))
        scores = {name: float(e @ direction) for name, e in embeddings.items()}
        assert max(scores, key=scores.get) == expected, (query, scores)


def test_a_frame_of_two_people_answers_two_people() -> None:
    """The astronaut photo once, and twice side by side (mirrored): the detector counts the people,
    and the class-space vector leans towards "two people" only for the second."""
    from models.class_space import keyframe_vector, load_class_space
    from models.text_embedding import embed_class_query
    from pipelines.ingest.visual import describe_keyframe_with_evidence

    space = load_class_space()
    half = photo("astronaut", 240, 360)
    frames = {"one": photo("astronaut", 480, 360), "two": np.ascontiguousarray(np.concatenate([half, half[:, ::-1]], 1))}
    evidence = {name: describe_keyframe_with_evidence(rgb)[3] for name, rgb in frames.items()}
    assert [sum(o[0] == "person" for o in evidence[n]["objects"]) for n in ("one", "two")] == [1, 2]
    for query in ("two people", "两个人"):
        q = embed_class_query(query)
        leaning = {n: float(keyframe_vector(e, space, people_weight=0.5) @ q) for n, e in evidence.items()}
        plain = float(keyframe_vector(evidence["two"], space, people_weight=0.0) @ q)
        assert leaning["two"] > leaning["one"] and leaning["two"] > plain, (query, leaning, plain)
