"""The class space: class-name texts, ConSE keyframe vectors from class evidence, source context.

Unit tests run on a small hand-made space (a fake: named so, no weights); the real space,
built from the shipped models, is tested in tests/ingest/test_visual.py."""

from __future__ import annotations

import numpy as np
import pytest

from models.class_space.names import (
    ClassText,
    coco_texts,
    fingerprint,
    imagenet_texts,
    names_data,
    people_bucket,
)
from models.class_space.space import (
    ClassSpace,
    _current,
    aggregate_probabilities,
    keyframe_vector,
    object_weights,
    with_context,
)

pytestmark = pytest.mark.unit


def fake_space() -> ClassSpace:
    """Three 'ImageNet' classes, one COCO class and one colour on orthogonal axes of a 5-d space."""
    eye = np.eye(5, dtype=np.float32)
    imagenet = eye[:3]
    coco = {"cat": eye[3]}
    classes = np.concatenate([imagenet, eye[3:4]])
    center = classes.mean(axis=0)
    centred = classes - center
    return ClassSpace(imagenet=imagenet, coco=coco, colours={"red": eye[4]}, fingerprint="fake", imagenet_index={"tabby": 0, "cup": 1, "car": 2},
                      center=center, all_classes=classes,
                      all_centred=centred / np.linalg.norm(centred, axis=1, keepdims=True))


def evidence(views: list[tuple[str, float, list[tuple[int, float]]]], objects=()) -> dict:
    return {"v": 1, "views": [{"kind": k, "w": w, "top": [list(t) for t in top]} for k, w, top in views],
            "objects": [list(o) for o in objects]}


def test_views_are_averaged_by_weight_and_crops_can_be_left_out() -> None:
    ev = evidence([("frame", 1.0, [(0, 0.8)]), ("grid", 0.5, [(1, 0.6)]), ("box", 0.5, [(0, 0.4)])])
    probs = aggregate_probabilities(ev, crops=True)
    assert probs[0] == pytest.approx((0.8 + 0.5 * 0.4) / 2.0)
    assert probs[1] == pytest.approx(0.5 * 0.6 / 2.0)
    assert aggregate_probabilities(ev, crops=False) == {0: pytest.approx(0.8)}


def test_views_pool_a_share_of_their_maximum() -> None:
    ev = evidence([("frame", 1.0, [(0, 0.8)]), ("grid", 0.5, [(1, 0.6)]), ("box", 0.5, [(0, 0.4)])])
    mean, peak = aggregate_probabilities(ev, crops=True), aggregate_probabilities(ev, crops=True, max_share=1.0)
    assert peak == {0: pytest.approx(0.8), 1: pytest.approx(0.5 * 0.6)}  # each class at its best weighted view
    half = aggregate_probabilities(ev, crops=True, max_share=0.5)
    assert half[1] == pytest.approx((mean[1] + peak[1]) / 2)
    assert half[1] > mean[1]  # a thing one crop sees clearly is not diluted by the views that miss it


def test_objects_weigh_by_best_score_and_count() -> None:
    weights = object_weights({"objects": [["cat", 0.9, 0.2], ["cat", 0.4, 0.1], ["dog", 0.5, 0.3]]})
    assert weights["cat"] == pytest.approx(0.9 * (1 + np.log(2)))
    assert weights["dog"] == pytest.approx(0.5)


def test_keyframe_vector_is_a_centred_convex_mix() -> None:
    space = fake_space()
    vector = keyframe_vector(evidence([("frame", 1.0, [(0, 0.9), (1, 0.1)])]), space)
    assert vector is not None and float(np.linalg.norm(vector)) == pytest.approx(1.0, abs=1e-5)
    # the strongest class wins, and the common direction (the centroid) is taken off
    axes = [float(vector @ (space.imagenet[i] - space.center)) for i in range(3)]
    assert axes[0] > axes[1] > axes[2]
    with_cat = keyframe_vector(evidence([("frame", 1.0, [(0, 0.9)])], objects=[("cat", 0.8, 0.5)]), space)
    assert float(with_cat @ space.coco["cat"]) > float(vector @ space.coco["cat"])


def test_colours_qualify_the_things_seen_and_never_stand_alone() -> None:
    space = fake_space()
    seen = evidence([("frame", 1.0, [(0, 0.9)])])
    plain = keyframe_vector(seen, space, colour_weight=0.5)
    red = keyframe_vector({**seen, "colours": [["red", 0.8], ["unknown", 0.2]]}, space, colour_weight=0.5)
    assert float(red @ space.colours["red"]) > float(plain @ space.colours["red"])
    assert float(red @ space.imagenet[0]) > 0.5  # the thing still dominates
    off = keyframe_vector({**seen, "colours": [["red", 0.8]]}, space, colour_weight=0.0)
    np.testing.assert_allclose(off, plain)
    assert keyframe_vector({"views": [], "objects": [], "colours": [["red", 1.0]]}, space, colour_weight=1.0) is None


def test_the_person_vector_leans_towards_the_phrase_of_the_count() -> None:
    """A fake space with "person" and two count phrases on axes of their own."""
    eye = np.eye(4, dtype=np.float32)
    space = ClassSpace(imagenet=eye[:1], coco={"person": eye[1]}, colours={}, fingerprint="fake-people",
                       imagenet_index={}, center=np.zeros(4, np.float32), all_classes=eye[:2], all_centred=eye[:2],
                       people={1: eye[2], 2: eye[3], 3: eye[3], 6: eye[3]})
    one = evidence([], objects=[("person", 0.9, 0.3)])
    two = evidence([], objects=[("person", 0.9, 0.3), ("person", 0.8, 0.2)])
    leaning_one, leaning_two = (keyframe_vector(e, space, people_weight=0.5) for e in (one, two))
    assert float(leaning_one @ eye[2]) > 0 and float(leaning_one @ eye[3]) == 0
    assert float(leaning_two @ eye[3]) > 0 and float(leaning_two @ eye[2]) == 0
    assert float(leaning_two @ eye[1]) > float(leaning_two @ eye[3])  # still a person first
    np.testing.assert_allclose(keyframe_vector(two, space, people_weight=0.0), eye[1], atol=1e-6)
    assert people_bucket(1) == 1 and people_bucket(2) == 2 and people_bucket(5) == 3 and people_bucket(40) == 6


def test_no_evidence_gives_no_vector() -> None:
    assert keyframe_vector({"views": [], "objects": []}, fake_space()) is None


def test_source_context_pulls_keyframes_towards_their_mean() -> None:
    a, b = np.array([1, 0, 0], np.float32), np.array([0, 1, 0], np.float32)
    mixed = with_context([a, b, None], 0.5)
    assert mixed[2] is None
    assert float(mixed[0] @ b) > 0 and float(mixed[0] @ a) > float(mixed[0] @ b)
    assert with_context([a, b], 0.0)[0] is a
    assert with_context([a], 0.5)[0] is a  # one keyframe: nothing to mix


def test_keyframes_stored_before_evidence_use_their_tags() -> None:
    legacy = {"v": 0, "tag_labels": [["tabby", 0.7], ["unknown label", 0.2]], "objects": [["cat", 0.9, 0.4]]}
    current = _current(legacy, fake_space())
    assert current["views"] == [{"kind": "frame", "w": 1.0, "top": [[0, 0.7]]}]
    assert current["objects"] == [["cat", 0.9, 0.4]]


def test_imagenet_texts_take_plain_names_and_groups() -> None:
    lines = ["tench, Tinca tinca", "goldfish, Carassius auratus"] + ["x"] * 279 + ["tabby, tabby cat"] + ["y"] * 718
    texts = imagenet_texts(lines)
    assert texts[0].english == "tench (fish)"  # the Latin binomial is dropped, the group added
    assert texts[0].chinese == "鱼"  # no Chinese name of its own: its group's
    assert texts[500].chinese is None  # no name, no group (objects 398-923 are ungrouped)
    assert texts[281].english == "tabby, tabby cat (cat, pet)"
    assert texts[281].chinese == names_data()["imagenet_zh"]["tabby"]
    assert coco_texts(["person"])[0] == ClassText("coco:person", "person", "人")


def test_names_data_covers_coco_and_changes_the_fingerprint() -> None:
    data = names_data()
    assert len(data["coco_zh"]) == 80
    assert len(data["imagenet_zh"]) >= 250
    groups = data["imagenet_groups"]
    assert all(0 <= start <= end < 1000 for start, end, _, _ in groups)
    texts = coco_texts(["person", "cat"])
    changed = [texts[0], ClassText("coco:cat", "cat", "猫咪")]
    assert fingerprint(texts, "e5") != fingerprint(changed, "e5") != fingerprint(texts, "other model")


def test_ridge_map_recovers_a_linear_map_and_shrinks_with_its_penalty() -> None:
    from models.class_space.image_map import ridge_map

    rng = np.random.default_rng(0)
    text, true_map = rng.normal(size=(200, 6)), rng.normal(size=(6, 4))
    targets = text @ true_map
    assert np.allclose(ridge_map(text, targets, penalty=1e-9), true_map, atol=1e-4)
    assert np.linalg.norm(ridge_map(text, targets, penalty=100.0)) < np.linalg.norm(true_map)


def test_joined_vectors_score_the_weighted_sum_of_both_halves() -> None:
    """One inner product of a joined query and keyframe is (cos_text + w cos_image) / (1 + w)."""
    from models.class_space.image_map import ImageMap

    rng = np.random.default_rng(1)
    unit = lambda n: (v := rng.normal(size=n).astype(np.float32)) / np.linalg.norm(v)  # noqa: E731
    image_map = ImageMap(matrix=rng.normal(size=(5, 7)).astype(np.float32), weight=2.0)
    query, keyframe, embedding = unit(5), unit(5), unit(7)
    joined_query, joined_keyframe = image_map.query(query), image_map.keyframe(keyframe, embedding)
    assert joined_query.shape == (image_map.dim,) and np.isclose(np.linalg.norm(joined_query), 1, atol=1e-6)
    direction = image_map.image_direction(query)
    expected = (query @ keyframe + 2.0 * direction @ embedding) / 3.0
    assert np.isclose(joined_query @ joined_keyframe, expected, atol=1e-6)
    # a keyframe without a tagger embedding (none, or another size) keeps its text half alone
    for missing in (None, unit(4)):
        assert np.isclose(joined_query @ image_map.keyframe(keyframe, missing), query @ keyframe / 3.0, atol=1e-6)
    # the class names as keyframes of the joined space: each name's centred vector beside its own direction
    rows = image_map.background(np.stack([keyframe]), np.stack([query]))
    assert np.isclose((rows @ joined_query)[0], (keyframe @ query + 2.0) / 3.0, atol=1e-6)
