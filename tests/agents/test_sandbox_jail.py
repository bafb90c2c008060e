"""The bubblewrap jail of the code sandbox, attacked as an attacker would (real bwrap, no mocks).

Each hostile snippet runs twice: through `run_python` (jail plus in-process guards), and
as plain Python straight inside the jail with no start-up code at all, so that the OS
layer is shown to hold on its own where the audit hook would be bypassed.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import pytest

from agents import sandbox_jail
from agents.sandbox import BOOT, _environment, _limits, run_python, runner_problem
from agents.sandbox_jail import PidsCgroup, jail_command
from core.settings import Settings

pytestmark = pytest.mark.unit

SECRET = "sk-planted-" + uuid.uuid4().hex


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    home = tmp_path / "argus_home"
    home.mkdir()
    (home / "secrets.toml").write_text(f"llm_api_key = '{SECRET}'\n")
    return Settings(home=home, sandbox_wall_s=60, sandbox_cpu_s=5, sandbox_memory_mb=1024,
                    ingest_roots=[tmp_path / "ingest"])


@pytest.fixture
def planted() -> list[Path]:
    """A secret in the real home directory and in the real temp directory of this user."""
    files = [Path.home() / f".argus-jail-test-{uuid.uuid4().hex}", Path(tempfile.gettempdir()) / f"argus-jail-test-{uuid.uuid4().hex}"]
    for path in files:
        path.write_text(SECRET)
    yield files
    for path in files:
        path.unlink(missing_ok=True)


def raw(code: str, settings: Settings, tmp_path: Path, *, cgroup: PidsCgroup | None = None,
        timeout: float = 60) -> subprocess.CompletedProcess:
    """Plain Python inside the jail: no audit hook, no import guard, only the OS layer."""
    scratch = tmp_path / f"scratch-{uuid.uuid4().hex[:6]}"
    scratch.mkdir()
    argv = jail_command(settings, scratch, BOOT, [sys.executable, "-I", "-c", code])
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=_environment(Path("/scratch")),
                          preexec_fn=_limits(settings, cgroup), start_new_session=True)


def test_bubblewrap_runs_here() -> None:
    assert runner_problem(Settings()) is None, "install bubblewrap (scripts/setup.sh) with user namespaces"


def test_planted_files_in_home_and_temp_cannot_be_read(settings: Settings, planted: list[Path], tmp_path: Path) -> None:
    for path in [*planted, settings.home / "secrets.toml"]:
        done = raw(f"print(open({str(path)!r}).read())", settings, tmp_path)
        assert done.returncode != 0 and SECRET not in done.stdout and "No such file" in done.stderr
        result = run_python(f"print(open({str(path)!r}).read())\n", settings)
        assert not result.ok and SECRET not in result.stdout
    home = str(Path.home())
    listing = raw(f"import os; print(repr((os.listdir('/'), os.listdir('/tmp'), os.path.isdir({home!r}) and os.listdir({home!r}))))",
                  settings, tmp_path)
    assert listing.returncode == 0, listing.stderr
    top, tmp, root_home = eval(listing.stdout)
    assert "home" not in top and "etc" not in top and tmp == []
    # The Python prefix may live under the home directory (pyenv): only it is bound there.
    assert root_home is False or (not any(n.startswith(".argus-jail-test") for n in root_home) and len(root_home) <= 1)


def test_parent_environment_cannot_be_read_through_proc(settings: Settings, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARGUS_LLM_API_KEY", SECRET)
    code = ("import glob\nfor p in glob.glob('/proc/*/environ'):\n"
            "    try: print(p, open(p, 'rb').read())\n    except OSError as e: print(p, e)\n"
            "import os; print('pids', sorted(int(p) for p in os.listdir('/proc') if p.isdigit()))")
    done = raw(code, settings, tmp_path)
    assert done.returncode == 0 and SECRET not in done.stdout and "ARGUS" not in done.stdout
    assert str(os.getpid()) not in done.stdout.split("pids")[-1].split(",")  # the host's processes are not there
    via_pandas = run_python("import pandas as pd\nos = pd.io.common.os\n"
                            "for p in os.listdir('/proc'):\n    if p.isdigit():\n"
                            "        print(open(f'/proc/{p}/environ', 'rb').read())\n", settings)
    assert SECRET not in via_pandas.stdout and "ARGUS" not in via_pandas.stdout


def test_writes_outside_scratch_fail_in_the_jail(settings: Settings, tmp_path: Path) -> None:
    targets = [tmp_path / "escaped.txt", settings.home / "escaped.txt", Path(sys.prefix) / "escaped.txt",
               Path("/usr/escaped.txt")]
    for target in targets:
        done = raw(f"open({str(target)!r}, 'w').write('x')", settings, tmp_path)
        assert done.returncode != 0 and not target.exists(), target
    # /tmp inside is a private tmpfs: writable, but nothing reaches the host's /tmp.
    marker = f"argus-jail-{uuid.uuid4().hex}"
    assert raw(f"open('/tmp/{marker}', 'w').write('x')", settings, tmp_path).returncode == 0
    assert not (Path("/tmp") / marker).exists()


def test_no_network_not_even_the_hosts_loopback(settings: Settings, tmp_path: Path) -> None:
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]
    try:
        # Loopback only: a test never sends traffic off this machine, even if the jail were open.
        code = (f"import socket\nfor addr in [('127.0.0.1', {port}), ('localhost', {port})]:\n"
                "    try:\n        socket.create_connection(addr, timeout=3); print('CONNECTED', addr)\n"
                "    except OSError as e:\n        print('refused', addr, e)\n")
        done = raw(code, settings, tmp_path)
        assert done.returncode == 0 and "CONNECTED" not in done.stdout and sum(line.startswith("refused") for line in done.stdout.splitlines()) == 2
    finally:
        server.close()


def test_fork_bomb_is_held_by_the_process_cap(settings: Settings, tmp_path: Path) -> None:
    cgroup = PidsCgroup.create(settings.sandbox_max_processes)
    assert cgroup is not None or os.geteuid() != 0, "root needs a pids cgroup to cap processes"
    code = ("import os, time\nn = 0\ntry:\n    for _ in range(500):\n        if os.fork() == 0:\n"
            "            time.sleep(5); os._exit(0)\n        n += 1\nexcept OSError as e:\n    print('stopped', n, e)\n"
            "print('forked', n)")
    try:
        done = raw(code, settings, tmp_path, cgroup=cgroup)
    finally:
        if cgroup is not None:
            cgroup.remove()
    forked = int(done.stdout.split("forked")[-1])
    assert "stopped" in done.stdout and forked < settings.sandbox_max_processes
    result = run_python("import pandas as pd\nos = pd.io.common.os\nwhile True:\n    os.fork()\n", settings)
    assert not result.ok and "pids-cgroup" in result.isolation or os.geteuid() != 0


def test_memory_bomb_is_stopped(settings: Settings, tmp_path: Path) -> None:
    done = raw("b = bytearray(4 * 1024 ** 3)", settings, tmp_path)
    assert done.returncode != 0 and "MemoryError" in done.stderr
    result = run_python("blob = [bytearray(256 * 1024 ** 2) for _ in range(64)]\n", settings)
    assert not result.ok and result.limit == "memory over 1024 MiB"


def test_a_hundred_megabytes_of_output_are_cut_not_buffered(settings: Settings) -> None:
    result = run_python("line = 'x' * 1023\nfor _ in range(100 * 1024):\n    print(line)\n", settings)
    assert not result.ok and result.limit == f"output over {settings.sandbox_max_output_mb} MiB"
    keep = settings.sandbox_output_keep_kb * 1024
    assert len(result.stdout) < 2 * keep + 200 and "bytes of output cut" in result.stdout
    assert settings.sandbox_max_output_mb * 1024 ** 2 < result.stdout_bytes < 100 * 1024 ** 2
    assert result.output_cut_bytes == result.stdout_bytes - 2 * keep
    assert "bytes of output cut" in result.summary()


def test_long_output_under_the_cap_keeps_head_and_tail(settings: Settings) -> None:
    result = run_python("print('FIRST')\nprint('y' * 100_000)\nprint('LAST')\n", settings)
    assert result.ok and result.stdout.startswith("FIRST") and result.stdout.rstrip().endswith("LAST")
    assert result.output_cut_bytes == result.stdout_bytes - 2 * settings.sandbox_output_keep_kb * 1024


def test_wall_time_kills_the_whole_tree(settings: Settings, tmp_path: Path) -> None:
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    marker = f"{time.time_ns() % 10 ** 6 + 7_000_000}"  # a unique sleep length to find the processes by
    argv = jail_command(settings, scratch, BOOT, ["/bin/sh", "-c", f"sleep {marker} & sleep {marker} & wait"])
    proc = subprocess.Popen(argv, start_new_session=True, env=_environment(Path("/scratch")))
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and len(_sleepers(marker)) < 2:
        time.sleep(0.1)
    assert len(_sleepers(marker)) == 2
    os.killpg(proc.pid, signal.SIGKILL)  # what the wall-time limit does
    proc.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and _sleepers(marker):
        time.sleep(0.1)
    assert _sleepers(marker) == []


def _sleepers(marker: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and (entry / "cmdline").read_bytes() == f"sleep\0{marker}\0".encode():
                found.append(int(entry.name))
        except OSError:
            pass
    return found


def test_without_bubblewrap_code_is_refused_unless_the_process_runner_is_chosen(
        settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # a machine with no bwrap on PATH
    sandbox_jail.bwrap_path.cache_clear()
    sandbox_jail.bwrap_problem.cache_clear()
    try:
        refused = run_python("print('ran')\n", settings)
        assert not refused.ok and refused.limit == "sandbox unavailable" and "ran" not in refused.stdout
        assert "bubblewrap is not installed" in refused.stderr and "sandbox_runner" in refused.stderr
        weaker = run_python("print('ran')\n", settings.model_copy(update={"sandbox_runner": "process"}))
        assert weaker.ok and weaker.stdout.strip() == "ran" and weaker.runner == "process"
    finally:
        sandbox_jail.bwrap_path.cache_clear()
        sandbox_jail.bwrap_problem.cache_clear()
