"""The registry's plumbing, on stand-in packages built in a temp dir (no real weights)."""

import hashlib
from pathlib import Path

import pytest

from core.settings import Settings
from models.registry import SPECS, AssembledFile, ModelUnavailable, PackageFile, Registry, assemble_file

pytestmark = pytest.mark.unit


@pytest.fixture
def split_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[AssembledFile, bytes]:
    """Two importable stand-in packages holding the two halves of a file."""
    payload = bytes(range(256)) * 1000
    halves = (payload[:100_000], payload[100_000:])
    parts = []
    for i, half in enumerate(halves, start=1):
        pkg = tmp_path / "site" / f"standin_part{i}"
        (pkg / "data").mkdir(parents=True)
        (pkg / "__init__.py").write_text("raise ImportError('must not be imported')\n")
        (pkg / "data" / f"blob.part{i}").write_bytes(half)
        parts.append(PackageFile(f"standin_part{i}", f"data/blob.part{i}", f"standin-part{i}"))
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    spec = AssembledFile("blob.bin", tuple(parts), hashlib.sha256(payload).hexdigest(), len(payload))
    return spec, payload


def test_assembly_joins_parts_in_order_without_importing(split_package, tmp_path: Path) -> None:
    spec, payload = split_package
    target = assemble_file(spec, tmp_path / "cache" / "blob.bin")
    assert target.read_bytes() == payload
    assert (tmp_path / "cache" / "blob.bin.sha256").read_text().strip() == spec.sha256


def test_assembly_is_done_once(split_package, tmp_path: Path) -> None:
    spec, _ = split_package
    target = assemble_file(spec, tmp_path / "cache" / "blob.bin")
    mtime = target.stat().st_mtime_ns
    assemble_file(spec, target)
    assert target.stat().st_mtime_ns == mtime


def test_checksum_mismatch_is_refused_and_leaves_nothing(split_package, tmp_path: Path) -> None:
    spec, _ = split_package
    bad = AssembledFile(spec.name, spec.parts, "0" * 64, spec.size)
    with pytest.raises(ModelUnavailable, match="checksum mismatch.*Reinstall standin-part1, standin-part2"):
        assemble_file(bad, tmp_path / "cache" / "blob.bin")
    assert list((tmp_path / "cache").iterdir()) == []


def test_missing_package_names_the_package(tmp_path: Path) -> None:
    spec = AssembledFile("x.bin", (PackageFile("no_such_pkg_xyz", "data/x", "no-such-pkg-xyz"),), "0" * 64, 1)
    with pytest.raises(ModelUnavailable, match="package 'no-such-pkg-xyz' is not installed"):
        assemble_file(spec, tmp_path / "x.bin")


def test_roles_cover_the_product() -> None:
    assert {"asr", "vad", "text_embedding", "object_detector", "image_tagger", "ocr", "clip", "reranker",
            "captioner", "chat_llm", "legal_base"} <= set(SPECS)


@pytest.mark.parametrize("role", ["clip", "reranker", "captioner"])
def test_roles_without_weights_are_absent_with_a_fix(role: str, argus_home: Path) -> None:
    registry = Registry(Settings())
    status = registry.status(role)
    assert status.state == "absent"
    assert f"ARGUS_{SPECS[role].setting.upper()}" in status.fix
    with pytest.raises(ModelUnavailable, match="not configured"):
        registry.resolve(role)


def test_configured_path_wins(argus_home: Path, tmp_path: Path) -> None:
    folder = tmp_path / "my-clip"
    folder.mkdir()
    registry = Registry(Settings(clip_model=str(folder)))
    assert registry.resolve("clip") == folder
    assert registry.status("clip").state == "real"


def test_configured_missing_path_is_a_clear_error(argus_home: Path) -> None:
    registry = Registry(Settings(asr_model="/nowhere/whisper"))
    with pytest.raises(ModelUnavailable, match="ARGUS_ASR_MODEL='/nowhere/whisper' does not exist"):
        registry.resolve("asr")
    assert registry.status("asr").state == "absent"


def test_hub_ids_only_when_allowed(argus_home: Path) -> None:
    assert Registry(Settings(clip_model="openai/clip-vit-base-patch32", allow_hub=True)).resolve("clip") == (
        "openai/clip-vit-base-patch32"
    )
    with pytest.raises(ModelUnavailable):
        Registry(Settings(clip_model="openai/clip-vit-base-patch32")).resolve("clip")
