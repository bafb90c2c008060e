"""The code sandbox: each attack fails, and a normal pandas/matplotlib snippet still works.

Attacks reach forbidden modules through the allowed libraries (`pandas.io.common.os`,
`numpy.ctypeslib.ctypes`) so that the audit hook, not only the import guard, is tested.
The jail itself (bubblewrap, real, no mocks) is tested in `test_sandbox_jail.py`.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from agents.sandbox import run_python
from core.settings import Settings

pytestmark = pytest.mark.unit


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    home = tmp_path / "home"
    home.mkdir()
    (home / "secrets.toml").write_text("llm_api_key = 'sk-very-secret'\n")
    # Generous wall time: the machine is shared; CPU time is what ends a busy loop.
    return Settings(home=home, sandbox_wall_s=60, sandbox_cpu_s=3, sandbox_memory_mb=1024)


def test_normal_pandas_matplotlib_snippet_produces_stdout_and_png(settings: Settings, tmp_path: Path) -> None:
    code = (
        "import pandas as pd\nimport matplotlib.pyplot as plt\n"
        "df = pd.DataFrame({'year': [2021, 2022, 2023], 'sales': [10, 14, 21]})\n"
        "print('total', df.sales.sum())\n"
        "df.plot(x='year', y='sales')\nplt.savefig('sales.png')\n"
    )
    result = run_python(code, settings, out_dir=tmp_path / "out")
    assert result.ok, result.stderr
    assert "total 45" in result.stdout
    assert [f.name for f in result.files] == ["sales.png"]
    png = Path(result.files[0].path)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and result.files[0].mime == "image/png"
    assert result.runner == "bwrap" and "(sandbox: bwrap)" in result.summary()


def test_network_is_blocked(settings: Settings) -> None:
    direct = run_python("import socket\n", settings)
    assert not direct.ok and "not allowed" in direct.stderr
    via_pandas = run_python("import pandas as pd\npd.read_csv('http://93.184.216.34/data.csv')\n", settings)
    assert not via_pandas.ok and "network access is not allowed" in via_pandas.stderr
    assert via_pandas.runner == "bwrap" and "net-namespace" in via_pandas.isolation


def test_writes_outside_scratch_are_blocked(settings: Settings, tmp_path: Path) -> None:
    target = tmp_path / "escaped.txt"
    result = run_python(f"open({str(target)!r}, 'w').write('x')\n", settings)
    assert not result.ok and "writing outside the scratch directory" in result.stderr
    assert not target.exists()
    inside = run_python("open('notes.txt', 'w').write('fine')\nprint(open('notes.txt').read())\n", settings)
    assert inside.ok and inside.stdout.strip() == "fine"


def test_argus_home_secrets_cannot_be_read(settings: Settings) -> None:
    result = run_python(f"print(open({str(settings.home / 'secrets.toml')!r}).read())\n", settings)
    assert not result.ok and "sk-very-secret" not in result.stdout
    assert "is not allowed" in result.stderr
    env = run_python("import pandas as pd\nprint(sorted(pd.io.common.os.environ))\n", settings)
    assert env.ok and "ARGUS" not in env.stdout and "KEY" not in env.stdout


def test_fork_bomb_and_processes_are_blocked(settings: Settings) -> None:
    bomb = run_python("import pandas as pd\nos = pd.io.common.os\nwhile True:\n    os.fork()\n", settings)
    assert not bomb.ok and "os.fork is not allowed" in bomb.stderr
    shell = run_python("import pandas as pd\npd.io.common.os.system('echo escaped')\n", settings)
    assert not shell.ok and "escaped" not in shell.stdout
    native = run_python("import numpy as np\nnp.ctypeslib.ctypes.CDLL(None).fork()\n", settings)
    assert not native.ok and "not allowed" in native.stderr


def test_infinite_loop_is_stopped(settings: Settings) -> None:
    result = run_python("while True:\n    pass\n", settings)
    assert not result.ok and result.limit is not None
    assert result.seconds < settings.sandbox_wall_s + 5


def test_wall_time_kills_a_blocked_snippet(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "home", sandbox_wall_s=4, sandbox_cpu_s=5)
    # Blocks on a pipe nobody writes to: no CPU time is used, only the wall clock ends it.
    code = "import pandas as pd\nos = pd.io.common.os\nr, w = os.pipe()\nos.read(r, 1)\n"
    result = run_python(code, settings)
    assert result.timed_out and not result.ok and result.limit == "wall time over 4 s"


def test_memory_bomb_is_stopped(settings: Settings) -> None:
    result = run_python("blob = bytearray(8 * 1024 ** 3)\n", settings)
    assert not result.ok and result.limit == "memory over 1024 MiB"


def test_imports_outside_the_allow_list_fail(settings: Settings) -> None:
    for module in ("os", "subprocess", "shutil", "importlib"):
        result = run_python(f"import {module}\n", settings)
        assert not result.ok and f"module {module!r} is not allowed" in result.stderr
