"""The command line's rich console: readable in a terminal and without one.

In a terminal rich uses its width. Without one (a pipe, a log, CI) rich assumes 80 columns,
and a table of long file names then prints them one character per line; there the console
is wide instead (`COLUMNS`, when set, still decides), so each row stays on one line.
"""

from __future__ import annotations

import os
import sys

from rich.console import Console

WIDE = 200  # columns without a terminal: a log line, not a screen


def make_console(*, stderr: bool = False) -> Console:
    stream = sys.stderr if stderr else sys.stdout
    interactive = hasattr(stream, "isatty") and stream.isatty()
    width = None if interactive or os.environ.get("COLUMNS") else WIDE
    return Console(stderr=stderr, width=width)


def name_width(names: list[str], cap: int = 48) -> int:
    """A minimum width for a column of names: the longest, up to `cap`, so it never folds to a sliver."""
    return min(max((len(n) for n in names), default=4), cap)
