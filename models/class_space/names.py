"""The class names the class space is built from: ImageNet-1k (the tagger's own label
file), COCO (the detector's), the colour terms (`colours.py`), and the hand-written `names.json` beside this module
(Chinese names of the 80 COCO classes and of ~270 common ImageNet classes, and coarse
groups of ImageNet class indices: "dog" for the 118 breeds, "bird", "food or drink", ...).

A class's text is what its vector is embedded from: its first two English names, its
group in brackets ("tabby, tabby cat (cat, pet)"), so a fine-grained class sits near the
plain word people use, and its Chinese name where one is written, else its group's ("狗"
for a breed without a name of its own), so Chinese queries meet the same plain word.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

NAMES_FILE = Path(__file__).with_name("names.json")
SYNONYMS = 2  # ImageNet lines list many synonyms and a Latin binomial; the first two are the plain ones


@dataclass(frozen=True)
class ClassText:
    key: str  # "imagenet:281", "coco:cat" or "colour:red"
    english: str
    chinese: str | None


@lru_cache(maxsize=1)
def names_data() -> dict:
    return json.loads(NAMES_FILE.read_text(encoding="utf-8"))


def imagenet_texts(label_lines: list[str]) -> list[ClassText]:
    """One text per ImageNet class, in class-index order (`label_lines`: the tagger's label file)."""
    data = names_data()
    groups = {i: (en, zh) for start, end, en, zh in data["imagenet_groups"] for i in range(start, end + 1)}
    out = []
    for index, line in enumerate(label_lines):
        names = [n.strip() for n in line.split(",") if n.strip()]
        plain = names[:1] + [n for n in names[1:SYNONYMS] if not _latin_binomial(n)]
        english = ", ".join(dict.fromkeys(plain))
        group = groups.get(index)
        if group is not None:
            english += f" ({group[0]})"
        chinese = data["imagenet_zh"].get(names[0]) or (group[1] if group is not None else None)
        out.append(ClassText(f"imagenet:{index}", english, chinese))
    return out


def coco_texts(labels: list[str]) -> list[ClassText]:
    zh = names_data()["coco_zh"]
    return [ClassText(f"coco:{label}", label, zh.get(label)) for label in labels]


def colour_texts() -> list[ClassText]:
    from models.class_space.colours import COLOURS

    return [ClassText(f"colour:{name}", name, zh) for name, zh in COLOURS.items()]


# How many people a frame shows, as the phrases queries use: the COCO "person" vector of a
# keyframe leans towards the phrase of its count (`space.keyframe_vector`).
PEOPLE = {1: ("a person", "一个人"), 2: ("two people", "两个人"), 3: ("a few people, a small group", "几个人"),
          6: ("a crowd, a large group of people", "一群人")}


def people_texts() -> list[ClassText]:
    return [ClassText(f"people:{n}", en, zh) for n, (en, zh) in PEOPLE.items()]


def people_bucket(count: int) -> int:
    """The `PEOPLE` phrase for `count` people: 1, 2, 3 (3-5) or 6 (6 and more)."""
    return max(n for n in PEOPLE if n <= count)


def fingerprint(texts: list[ClassText], embedder_name: str) -> str:
    """Changes whenever a class text or the embedding model does: the cache key of the vectors."""
    digest = hashlib.sha256(embedder_name.encode())
    for t in texts:
        digest.update(f"{t.key}\t{t.english}\t{t.chinese or ''}\n".encode())
    return digest.hexdigest()[:16]


def _latin_binomial(name: str) -> bool:
    """"Felis concolor": two words, the first capitalised, the second not (ImageNet's scientific names)."""
    words = name.split()
    return len(words) == 2 and words[0][:1].isupper() and words[1].islower() and words[1].isalpha()
