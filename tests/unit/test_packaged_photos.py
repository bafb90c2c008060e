"""Reading the evaluation set's photographs out of distribution archives. The archives here are
fakes built in the test (a wheel and an sdist holding one PNG); the real ones are fetched by
`python -m pipelines.eval_sets.real_footage`, which checks each picture's SHA-256."""

from __future__ import annotations

import hashlib
import io
import tarfile
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from models.package_archives import archive_in, read_member
from pipelines.eval_sets.packaged_photos import packaged_photo


def png_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.full((4, 6, 3), 200, np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    folder = tmp_path / "argus" / "eval_sources"
    folder.mkdir(parents=True)
    data = png_bytes()
    with zipfile.ZipFile(folder / "fake_pics-1.0-py3-none-any.whl", "w") as wheel:
        wheel.writestr("fake_pics/assets/grey.png", data)
    with tarfile.open(folder / "fake-sdist-2.0.tar.gz", "w:gz") as sdist:
        info = tarfile.TarInfo("fake-sdist-2.0/examples/grey.png")
        info.size = len(data)
        sdist.addfile(info, io.BytesIO(data))
    return folder


def test_photos_are_read_from_a_cached_wheel_or_sdist_and_checked(cache: Path) -> None:
    digest = hashlib.sha256(png_bytes()).hexdigest()[:16]
    for requirement, member in (("fake-pics==1.0", "fake_pics/assets/grey.png"),
                                ("fake-sdist==2.0", "examples/grey.png")):
        rgb = packaged_photo(requirement, member, digest)()
        assert rgb.shape == (4, 6, 3) and rgb.dtype == np.uint8 and int(rgb[0, 0, 0]) == 200


def test_a_changed_picture_is_refused(cache: Path) -> None:
    with pytest.raises(ValueError, match="SHA-256"):
        packaged_photo("fake-pics==1.0", "fake_pics/assets/grey.png", "0000000000000000")()


def test_a_missing_member_names_the_archive(cache: Path) -> None:
    with pytest.raises(KeyError, match="fake-sdist-2.0.tar.gz"):
        read_member(cache / "fake-sdist-2.0.tar.gz", "examples/none.png")


def test_another_version_is_not_taken_for_the_pinned_one(cache: Path) -> None:
    assert archive_in(cache, "fake-pics", "1.0") is not None
    assert archive_in(cache, "fake-pics", "1.0.1") is None
    assert archive_in(cache, "fake-sdist", "2") is None


def test_an_sdist_is_asked_for_by_name_and_other_members_are_decoded(cache: Path) -> None:
    """Test files live in sdists only: with `sdist` a wheel of the same version is not taken.
    A member that is not an image file (a raw array) is read by its `decode`; grey becomes RGB."""
    grey = np.full((3, 5), 7, np.uint8)
    with zipfile.ZipFile(cache / "both-3.0-py3-none-any.whl", "w") as wheel:
        wheel.writestr("both/raw.bin", b"not this one")
    with tarfile.open(cache / "both-3.0.tar.gz", "w:gz") as sdist:
        info = tarfile.TarInfo("both-3.0/tests/raw.bin")
        info.size = grey.size
        sdist.addfile(info, io.BytesIO(grey.tobytes()))
    assert archive_in(cache, "both", "3.0").suffix == ".whl"
    assert archive_in(cache, "both", "3.0", sdist=True).name == "both-3.0.tar.gz"
    digest = hashlib.sha256(grey.tobytes()).hexdigest()[:16]
    rgb = packaged_photo("both==3.0", "tests/raw.bin", digest, sdist=True,
                         decode=lambda data: np.frombuffer(data, np.uint8).reshape(3, 5))()
    assert rgb.shape == (3, 5, 3) and int(rgb[2, 4, 1]) == 7


def test_the_second_set_is_all_development_and_shares_no_picture_with_the_first() -> None:
    from pipelines.eval_sets.real_footage import CLIPS, split_of
    from pipelines.eval_sets.real_footage_more import MORE

    names = [c.name for c in CLIPS + MORE]
    assert len(names) == len(set(names)) and len(MORE) == 16
    assert {c.origin for c in CLIPS}.isdisjoint(c.origin for c in MORE)
    assert all(len(c.queries) == 3 and {lang for _, lang in c.queries} == {"en", "zh"} for c in MORE)
    assert {split_of(ci, qi) for ci in range(len(CLIPS)) for qi in range(3)} == {"dev", "test"}
