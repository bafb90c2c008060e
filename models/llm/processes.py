"""/proc helpers of the engine manager: liveness, process groups, uptime, memory, log tails.

An engine runs in its own process group (vLLM's CPU backend spawns workers); these
read what Linux says about such a group without importing the engine.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

LOG_TAIL_LINES = 40


def cmdline(pid: int) -> list[str] | None:
    """The arguments of a live (not zombie) process, else None."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        args = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    if stat.rsplit(")", 1)[1].split()[0] in ("Z", "X"):
        return None
    return args.decode(errors="replace").split("\0")


def pids() -> list[int]:
    return [int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit()]


def uptime(pid: int) -> float | None:
    """Seconds since the process started (from /proc, so it works for any engine)."""
    try:
        start_ticks = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19])
        since_boot = float(Path("/proc/uptime").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    return since_boot - start_ticks / os.sysconf("SC_CLK_TCK")


def process_memory(proc: Path) -> int:
    """Proportional set size of one process (shared pages split between sharers), else its RSS."""
    try:
        for line in (proc / "smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return int((proc / "statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def group_members(pgid: int) -> list[Path]:
    """/proc entries of the live processes of a group (zombies, dead but not yet reaped, excluded)."""
    members = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] not in ("Z", "X"):  # fields[2]: the process group id
            members.append(proc)
    return members


def group_memory(pgid: int) -> int | None:
    """Memory of every process in the group (API server, engine core, workers), shared pages once."""
    total = 0
    members = group_members(pgid)
    for proc in members:
        with contextlib.suppress(OSError, ValueError, IndexError):
            total += process_memory(proc)
    return total if members else None


def log_tail(log_path: Path, offset: int = 0, lines: int = LOG_TAIL_LINES) -> str:
    """The last lines this start wrote to the log (the log file is shared by successive starts)."""
    try:
        with log_path.open("rb") as fh:
            fh.seek(offset)
            text = fh.read().decode(errors="replace")
    except OSError:
        return "(no log written)"
    return "\n".join(text.rstrip().splitlines()[-lines:])
