"""Every kind of bad input gets one clear line and a failed job; the rest of the batch goes on
and nothing else in the base changes."""

from __future__ import annotations

import os
import struct
from pathlib import Path

import numpy as np
import pytest
import soundfile
from doc_files import write_markdown
from media_files import write_media
from snapshot import index_sizes, latest_jobs

from core.settings import get_settings
from pipelines.ingest.inputs import InputError, discover, inspect_file
from pipelines.ingest.jobs import ingest
from pipelines.store.catalog import open_catalog


def _box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", 8 + len(payload)) + kind + payload


def mp4_without_streams(path: Path) -> Path:
    """A well-formed MP4 header (ftyp + moov with only a movie header): no tracks at all."""
    mvhd = _box(b"mvhd", bytes(12) + struct.pack(">II", 1000, 0) + struct.pack(">IH", 0x00010000, 0x0100)
                + bytes(70) + struct.pack(">I", 1))
    path.write_bytes(_box(b"ftyp", b"isom" + bytes(4) + b"isommp41") + _box(b"moov", mvhd))
    return path


@pytest.mark.integration
def test_each_bad_input_fails_alone(argus_home: Path, tmp_path: Path, talk_mp4: Path,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARGUS_MAX_FILE_MB", "1")
    monkeypatch.setenv("ARGUS_MAX_DURATION_S", "8")
    get_settings.cache_clear()

    bad = tmp_path / "inputs"
    bad.mkdir()
    data = talk_mp4.read_bytes()
    (bad / "truncated.mp4").write_bytes(data[: len(data) * 2 // 5])
    (bad / "random.mp4").write_bytes(np.random.default_rng(1).bytes(30_000))
    (bad / "garbage_after_header.mp4").write_bytes(b"\x00\x00\x00\x18ftypisom" + np.random.default_rng(2).bytes(30_000))
    (bad / "empty.mp4").write_bytes(b"")
    soundfile.write(bad / "zero_length.wav", np.zeros(0, np.float32), 16_000)
    mp4_without_streams(bad / "no_streams.mp4")
    (bad / "latin1.txt").write_bytes("Café crème, naïve résumé".encode("latin-1"))
    from fpdf import FPDF

    blank = FPDF()
    blank.add_page()
    blank.output(str(bad / "blank.pdf"))
    (bad / "data.xyz").write_text("what is this")
    (bad / "huge.txt").write_text("lorem ipsum " * 100_000)  # 1.2 MB > max_file_mb 1
    (bad / "long.mp4").write_bytes(data)  # 11 s > max_duration_s 8
    write_media(bad / "quiet.m4a", seconds=3, audio=np.zeros(3 * 16_000, np.float32), video=False)
    (bad / "loop").mkdir()
    (bad / "loop" / "again").symlink_to(bad / "loop", target_is_directory=True)
    os.symlink(bad / "self_link.txt", bad / "self_link.txt")  # a symlink pointing at itself
    # Good inputs in the same batch.
    write_markdown(bad / "good.md")
    write_media(bad / "silent_video.mp4", seconds=5)  # no audio stream: keyframes only

    report = ingest([bad, tmp_path / "missing.pdf"], recursive=True, progress=False)
    results = {Path(f.path).name: f for f in report.files}
    expected = {
        "truncated.mp4": "not a readable media file, corrupt or truncated",
        "random.mp4": "content is not MP4/QuickTime data despite the .mp4 extension",
        "garbage_after_header.mp4": "not a readable media file, corrupt or truncated",
        "empty.mp4": "empty file (0 bytes)",
        "zero_length.wav": "zero-length media",
        "no_streams.mp4": "no audio or video stream",
        "latin1.txt": "not UTF-8 text",
        "blank.pdf": "no extractable text",
        "huge.txt": "too large: 1.1 MB > max_file_mb 1 MB",
        "long.mp4": "too long: 0:00:11 > max_duration_s 0:00:08",
        "quiet.m4a": "no speech found",
        "again": "directory loop",
        "self_link.txt": "symlink loop",
        "missing.pdf": "no such file or directory",
    }
    for name, reason in expected.items():
        assert name in results, name
        assert results[name].status == "failed" and results[name].reason.startswith(reason), (name, results[name])
        assert "\n" not in results[name].reason
    assert results["data.xyz"].status == "skipped"  # found in a folder walk: not ours to read
    assert results["good.md"].status == "done" and results["silent_video.mp4"].status == "done"
    assert results["silent_video.mp4"].segments == 0 and results["silent_video.mp4"].keyframes >= 1
    assert len(report.files) == len(expected) + 3
    assert not report.ok

    # Nothing but the good files reached the base.
    catalog = open_catalog()
    assert sorted(s.name for s in catalog.list_sources()) == ["good.md", "silent_video.mp4"]
    media = get_settings().media_dir
    assert [p.name for p in media.iterdir()] == [catalog.find_sources("silent_video.mp4")[0].content_hash]
    assert index_sizes(argus_home)["sources"] == 2
    jobs = latest_jobs(argus_home)
    assert {status for status, _ in jobs.values()} == {"done", "failed", "skipped"}
    assert jobs[str(bad / "latin1.txt")][1].startswith("not UTF-8 text")
    assert jobs[str(tmp_path / "missing.pdf")] == ("failed", "no such file or directory")
    catalog.close()


@pytest.mark.integration
def test_audio_in_a_video_container_is_an_audio_source(argus_home: Path, tmp_path: Path, shared_data: Path) -> None:
    from media_files import speech

    voice = write_media(tmp_path / "voice.mp4", seconds=4, audio=speech(shared_data), video=False)
    report = ingest([voice], progress=False)
    result = report.files[0]
    assert result.status == "done" and result.type == "audio" and result.keyframes == 0 and result.segments >= 1
    source = open_catalog().list_sources()[0]
    assert source.mime == "audio/mp4" and source.language == "en"


@pytest.mark.unit
def test_discover_walks_folders_once(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "one.md").write_text("# one")
    (tmp_path / "a" / ".hidden.md").write_text("# hidden")
    (tmp_path / "a" / "sub").mkdir()
    (tmp_path / "a" / "sub" / "two.txt").write_text("two")
    (tmp_path / "a" / "sub" / "up").symlink_to(tmp_path / "a", target_is_directory=True)
    (tmp_path / "a" / "sub" / "up2").symlink_to(tmp_path / "a", target_is_directory=True)
    (tmp_path / "b").symlink_to(tmp_path / "a", target_is_directory=True)

    flat = discover([tmp_path / "a"])
    assert [p.name for p in flat.files] == ["one.md"] and not flat.failures

    deep = discover([tmp_path / "a", tmp_path / "b", tmp_path / "a" / "one.md"], recursive=True)
    assert [p.name for p in deep.files] == ["one.md", "two.txt"]
    assert len(deep.failures) == 1 and deep.failures[0][1].startswith("directory loop")  # reported once


@pytest.mark.unit
def test_inspect_file_checks_content_not_just_names(tmp_path: Path) -> None:
    (tmp_path / "real.pdf").write_bytes(b"%PDF-1.7\n...")
    assert inspect_file(tmp_path / "real.pdf", max_file_mb=1).type.value == "document"
    (tmp_path / "fake.pdf").write_bytes(b"<html>not a pdf</html>")
    (tmp_path / "fake.docx").write_bytes(b"PK\x03\x04not really a zip")
    (tmp_path / "binary.md").write_bytes(b"\x00\x01\x02binary")
    (tmp_path / "fake.flac").write_bytes(b"RIFF\x00\x00\x00\x00WAVEfmt ")
    for name in ("fake.pdf", "fake.docx", "binary.md", "fake.flac"):
        with pytest.raises(InputError, match="^content is not"):
            inspect_file(tmp_path / name, max_file_mb=1)
    with pytest.raises(InputError, match="unsupported file type '.xyz'"):
        inspect_file(tmp_path / "notes.xyz", max_file_mb=1)


@pytest.mark.unit
def test_symlinks_out_of_a_given_folder_are_refused(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("the vault code is 7311")
    (outside / "elsewhere").mkdir()
    (outside / "elsewhere" / "deep.md").write_text("# deep")
    folder = tmp_path / "folder"
    (folder / "sub").mkdir(parents=True)
    (folder / "own.md").write_text("# own")
    (folder / "leak.txt").symlink_to(outside / "secret.txt")
    (folder / "sub" / "also_leak.txt").symlink_to(outside / "secret.txt")
    (folder / "escape").symlink_to(outside / "elsewhere", target_is_directory=True)
    (folder / "alias.md").symlink_to(folder / "own.md")  # a link that stays inside is fine

    found = discover([folder], recursive=True)
    assert [p.name for p in found.files] == ["alias.md"]  # own.md is the same file, reached once
    refused = {Path(p).name: reason for p, reason in found.failures}
    assert set(refused) == {"leak.txt", "also_leak.txt", "escape"}
    assert refused["leak.txt"] == f"refused: the symlink leads outside {folder} (to {outside / 'secret.txt'})"


@pytest.mark.integration
def test_cli_says_so_per_refused_link_and_goes_on(argus_home: Path, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from app.cli import app

    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("the vault code is 7311")
    folder = tmp_path / "folder"
    folder.mkdir()
    write_markdown(folder / "good.md")
    (folder / "leak.txt").symlink_to(outside / "secret.txt")

    result = CliRunner().invoke(app, ["ingest", str(folder)], env={"COLUMNS": "400"})
    line = next(line for line in result.output.splitlines() if "leak.txt" in line)
    assert "refused: the symlink leads outside" in line and "1 ingested, 0 skipped, 1 failed" in result.output
    catalog = open_catalog()
    assert [s.name for s in catalog.list_sources()] == ["good.md"]
    assert not any("7311" in c.text for c in catalog.chunks(catalog.list_sources()[0].id))
    catalog.close()
