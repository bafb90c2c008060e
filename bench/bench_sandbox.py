"""Code sandbox start-up overhead: the same snippets under the bwrap jail and the plain process runner.

    .venv/bin/python bench/bench_sandbox.py [--runs 20]

Each snippet runs `--runs` times per runner through `agents.sandbox.run_python` (the path
the coder takes), runners interleaved so that machine load hits both alike. Reports the
median and p90 wall time per snippet and runner and the jail's overhead (bwrap median minus
process median), and writes bench/results/sandbox.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from agents.sandbox import run_python  # noqa: E402
from core.settings import Settings  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "sandbox.json"
SNIPPETS = {
    "print": "print(1 + 1)\n",
    "pandas": "import pandas as pd\nprint(pd.DataFrame({'a': [1, 2, 3]}).a.sum())\n",
    "pandas+matplotlib png": ("import pandas as pd\nimport matplotlib.pyplot as plt\n"
                              "pd.DataFrame({'y': [1, 4, 9]}).plot()\nplt.savefig('chart.png')\n"),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="bench-sandbox-"))
    runners = {name: Settings(home=home, sandbox_runner=name) for name in ("bwrap", "process")}
    for settings in runners.values():  # warm the font cache and the page cache once
        run_python(SNIPPETS["pandas+matplotlib png"], settings)
    rows = []
    for label, code in SNIPPETS.items():
        times: dict[str, list[float]] = {name: [] for name in runners}
        for _ in range(args.runs):
            for name, settings in runners.items():
                started = time.perf_counter()
                result = run_python(code, settings)
                times[name].append(time.perf_counter() - started)
                if not result.ok:
                    raise SystemExit(f"{label} failed under {name}: {result.stderr[-500:]}")
        row = {"snippet": label, "runs": args.runs}
        for name, values in times.items():
            row[f"{name}_median_s"] = round(statistics.median(values), 3)
            row[f"{name}_p90_s"] = round(sorted(values)[int(0.9 * (len(values) - 1))], 3)
        row["overhead_median_s"] = round(row["bwrap_median_s"] - row["process_median_s"], 3)
        rows.append(row)
        print(f"{label:24s} bwrap {row['bwrap_median_s']:.3f} s  process {row['process_median_s']:.3f} s  "
              f"overhead {row['overhead_median_s'] * 1000:+.0f} ms (median of {args.runs})")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({"machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
                                   "rows": rows}, indent=2) + "\n")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
