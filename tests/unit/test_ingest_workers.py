"""How many worker processes `argus ingest` uses when not told."""

from pathlib import Path

import pytest

from core.settings import Settings
from core.types import SourceType
from pipelines.ingest.jobs import auto_workers
from pipelines.ingest.stages import FileTask

pytestmark = pytest.mark.unit


def tasks(*types: SourceType) -> list[FileTask]:
    return [FileTask(n, f"/m/{n}", "h", t, "x/y", 1) for n, t in enumerate(types)]


def test_several_media_files_get_one_worker_per_thread(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path, threads=2)
    assert auto_workers(tasks(SourceType.video, SourceType.audio, SourceType.video), settings) == 2
    assert auto_workers(tasks(SourceType.video, SourceType.video), Settings(home=tmp_path, threads=4)) == 2


def test_one_media_file_or_documents_alone_stay_in_process(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path, threads=2)
    assert auto_workers(tasks(SourceType.video, SourceType.document, SourceType.document), settings) == 1
    assert auto_workers(tasks(SourceType.document, SourceType.document), settings) == 1
    assert auto_workers([], settings) == 1


def test_workers_receive_every_setting_including_lists_of_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from pipelines.ingest.engines import settings_env

    driver = Settings(home=tmp_path, ingest_roots=[tmp_path / "a", tmp_path / "b"], threads=1)
    for name, value in settings_env(driver).items():  # what a spawned worker's environment holds
        monkeypatch.setenv(name, value)
    assert Settings().model_dump() == driver.model_dump()
