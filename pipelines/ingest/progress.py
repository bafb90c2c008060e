"""Showing ingestion progress: one overall bar, and one bar per file in flight naming its stage."""

from __future__ import annotations

from typing import Protocol

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn


class ProgressSink(Protocol):
    """What the job runner reports; implement it to show progress elsewhere (e.g. over REST)."""

    def begin(self, total: int) -> None: ...

    def stage(self, job_id: int, name: str, stage: str, fraction: float) -> None: ...

    def finished(self, job_id: int, name: str, status: str) -> None: ...

    def end(self) -> None: ...


class SilentProgress:
    def begin(self, total: int) -> None:
        pass

    def stage(self, job_id: int, name: str, stage: str, fraction: float) -> None:
        pass

    def finished(self, job_id: int, name: str, status: str) -> None:
        pass

    def end(self) -> None:
        pass


class RichProgress:
    """Rich bars on stderr; a file's bar shows its current stage and that stage's progress."""

    def __init__(self, console: Console | None = None):
        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.percentage:>3.0f}%"),
            TimeElapsedColumn(),
            console=console or Console(stderr=True),
            transient=True,
        )
        self._overall: TaskID | None = None
        self._files: dict[int, TaskID] = {}
        self._done = self._total = 0

    def begin(self, total: int) -> None:
        self._total = total
        self._progress.start()
        self._overall = self._progress.add_task(f"[bold]files 0/{total}", total=max(total, 1))

    def stage(self, job_id: int, name: str, stage: str, fraction: float) -> None:
        if job_id not in self._files:
            self._files[job_id] = self._progress.add_task("", total=1.0)
        self._progress.update(self._files[job_id], description=f"  {_short(name)} [dim]· {stage}[/]",
                              completed=fraction)

    def finished(self, job_id: int, name: str, status: str) -> None:
        task = self._files.pop(job_id, None)
        if task is not None:
            self._progress.remove_task(task)
        self._done += 1
        if self._overall is not None:
            self._progress.update(self._overall, advance=1, description=f"[bold]files {self._done}/{self._total}")

    def end(self) -> None:
        if self._overall is not None:  # started
            self._progress.stop()


def _short(name: str, width: int = 32) -> str:
    return name if len(name) <= width else "…" + name[-(width - 1):]
