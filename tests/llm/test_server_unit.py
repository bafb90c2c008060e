"""The engine manager without a real engine: flags, environment, errors, stop and status."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from core.settings import Settings
from models.llm import engine_llamacpp, engine_vllm, server

pytestmark = pytest.mark.unit


def flag_value(args: list[str], flag: str) -> str:
    return args[args.index(flag) + 1]


def test_every_engine_setting_maps_to_its_flag(tmp_path: Path) -> None:
    s = Settings(home=tmp_path, llm_model="served-name", engine_port=9123, engine_dtype="bfloat16",
                 engine_max_model_len=2048, engine_max_num_seqs=3, engine_max_num_batched_tokens=1024,
                 engine_enable_chunked_prefill=False, engine_enable_lora=True, engine_enforce_eager=False,
                 engine_gpu_memory_utilization=0.5, llm_api_key="secret")
    args = engine_vllm.engine_args(s, "/models/qwen", "cuda")
    assert args[:2] == ["serve", "/models/qwen"]
    assert flag_value(args, "--served-model-name") == "served-name"
    assert flag_value(args, "--host") == "127.0.0.1" and flag_value(args, "--port") == "9123"
    assert flag_value(args, "--dtype") == "bfloat16"
    assert flag_value(args, "--max-model-len") == "2048"
    assert flag_value(args, "--max-num-seqs") == "3"
    assert flag_value(args, "--max-num-batched-tokens") == "1024"
    assert "--no-enable-chunked-prefill" in args and "--enable-lora" in args and "--enforce-eager" not in args
    assert flag_value(args, "--gpu-memory-utilization") == "0.5"
    assert flag_value(args, "--api-key") == "secret"
    assert "--enable-auto-tool-choice" in args and flag_value(args, "--tool-call-parser") == "hermes"


def test_cpu_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("VLLM_CPU_KVCACHE_SPACE", "VLLM_CPU_OMP_THREADS_BIND", "VLLM_TARGET_DEVICE"):
        monkeypatch.delenv(name, raising=False)
    s = Settings(home=tmp_path)
    args = engine_vllm.engine_args(s, "/m", "cpu")
    assert "--enforce-eager" in args and "--enable-chunked-prefill" in args
    assert "--gpu-memory-utilization" not in args and "--api-key" not in args
    env = engine_vllm.engine_env(s, "cpu")
    assert env["VLLM_CPU_KVCACHE_SPACE"] == "2" and env["HF_HUB_OFFLINE"] == "1"
    assert env["VLLM_TARGET_DEVICE"] == "cpu"
    assert env["VLLM_CPU_OMP_THREADS_BIND"] == engine_vllm.cpu_threads_bind(s)
    assert "VLLM_CPU_KVCACHE_SPACE" not in engine_vllm.engine_env(s, "cuda")


def test_vllm_dtype_follows_the_cpu(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from models.llm import cpu

    s = Settings(home=tmp_path)
    monkeypatch.setattr(engine_vllm, "cpu_flags", lambda: frozenset({"avx2", "avx512f", "avx512_bf16"}))
    assert engine_vllm.engine_dtype(s, "cpu") == "bfloat16"
    monkeypatch.setattr(engine_vllm, "cpu_flags", lambda: frozenset({"avx2", "fma"}))
    assert engine_vllm.engine_dtype(s, "cpu") == "float32"
    assert engine_vllm.engine_dtype(s, "cuda") == "auto"
    assert engine_vllm.engine_dtype(Settings(home=tmp_path, engine_dtype="float32"), "cpu") == "float32"
    assert cpu.isa_summary(frozenset({"avx2", "fma"})) == "fma avx2"


def test_thread_binding_covers_every_usable_core(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    s = Settings(home=tmp_path)
    for cores, expected in (({0, 1}, "0-1"), ({3}, "3"), ({0, 1, 2, 5, 7, 8}, "0-2,5,7-8")):
        monkeypatch.setattr(os, "sched_getaffinity", lambda _pid, c=cores: c)
        assert engine_vllm.cpu_threads_bind(s) == expected
    assert engine_vllm.cpu_threads_bind(Settings(home=tmp_path, engine_cpu_threads="4-5")) == "4-5"
    monkeypatch.setattr(os, "sched_getaffinity", lambda _pid: {2, 3, 4})
    assert engine_vllm.cpu_threads_bind(Settings(home=tmp_path, engine_threads=2)) == "2-3"


def test_llamacpp_flags(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    s = Settings(home=tmp_path, llm_model="served-name", engine_port=9123, engine_parallel=3,
                 engine_max_model_len=2048, engine_prompt_cache_mib=64, llm_api_key="secret")
    args = engine_llamacpp.engine_args(s, "/models/q.gguf", threads=2)
    assert flag_value(args, "--model") == "/models/q.gguf" and flag_value(args, "--alias") == "served-name"
    assert flag_value(args, "--host") == "127.0.0.1" and flag_value(args, "--port") == "9123"
    assert flag_value(args, "--parallel") == "3" and flag_value(args, "--ctx-size") == str(3 * 2048)
    assert "--no-kv-unified" in args and "--jinja" in args  # per-slot window; the model's own template
    assert flag_value(args, "--threads") == "2" and flag_value(args, "--threads-batch") == "2"
    assert flag_value(args, "--cache-ram") == "64" and flag_value(args, "--api-key") == "secret"
    assert "--api-key" not in engine_llamacpp.engine_args(Settings(home=tmp_path), "/m.gguf", threads=1)
    split = engine_llamacpp.engine_args(s, "/m.gguf", threads=1, threads_batch=4)
    assert flag_value(split, "--threads") == "1" and flag_value(split, "--threads-batch") == "4"
    monkeypatch.setenv("OMP_WAIT_POLICY", "ACTIVE")
    env = engine_llamacpp.engine_env(s)  # threads spin briefly, then sleep: endless spinning stalls a busy CPU
    assert env["OMP_WAIT_POLICY"] == "PASSIVE" and env["GOMP_SPINCOUNT"] == "1000"


def test_engine_threads_follow_the_usable_cores(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from models.llm.cpu import engine_threads

    monkeypatch.setattr(os, "sched_getaffinity", lambda _pid: {0, 1, 2})
    assert engine_threads(Settings(home=tmp_path)) == 3  # the rest of Argus waits on the answer
    assert engine_threads(Settings(home=tmp_path, engine_threads=3)) == 3
    monkeypatch.setattr(os, "sched_getaffinity", lambda _pid: {5})
    assert engine_threads(Settings(home=tmp_path)) == 1


def test_a_missing_llama_server_is_a_clear_error(tmp_path: Path) -> None:
    s = Settings(home=tmp_path, engine_llamacpp_server=str(tmp_path / "no-llama-server"), engine_port=9130)
    with pytest.raises(server.EngineError, match="llama-server is not built"):
        server.start(s)


def test_a_chat_model_that_is_not_gguf_is_refused_by_llamacpp(tmp_path: Path) -> None:
    folder = tmp_path / "hf-folder"
    folder.mkdir()
    with pytest.raises(server.EngineError, match="not a .gguf file"):
        engine_llamacpp.gguf_path(Settings(home=tmp_path, chat_model=str(folder)))


def test_the_served_name_follows_the_chat_model(tmp_path: Path) -> None:
    assert Settings(home=tmp_path).llm_model == "qwen2.5-coder-1.5b-instruct"  # auto on llama.cpp
    for backend in ("vllm", "inprocess"):  # the engines that serve the Hugging Face conversion
        auto = Settings(home=tmp_path, llm_backend=backend)
        assert auto.llm_chat_model == "qwen2.5-coder-0.5b" and auto.llm_model == "qwen2.5-coder-0.5b-instruct"
    assert Settings(home=tmp_path, llm_chat_model="qwen2.5-coder-0.5b").llm_model == "qwen2.5-coder-0.5b-instruct"
    assert Settings(home=tmp_path, llm_chat_model="qwen2.5-coder-1.5b").llm_model == "qwen2.5-coder-1.5b-instruct"
    assert Settings(home=tmp_path, llm_model="mine").llm_model == "mine"


def test_a_model_folder_without_config_fails_at_once(tmp_path: Path) -> None:
    empty = tmp_path / "not-a-model"
    empty.mkdir()
    s = Settings(home=tmp_path / "home", chat_model=str(empty), engine_port=9124, llm_backend="vllm")
    started = time.monotonic()
    with pytest.raises(server.EngineError, match="no config.json"):
        server.start(s)
    assert time.monotonic() - started < 5


def test_a_missing_model_path_fails_at_once(tmp_path: Path) -> None:
    from models.registry import ModelUnavailable

    s = Settings(home=tmp_path / "home", chat_model=str(tmp_path / "missing"), engine_port=9125, llm_backend="vllm")
    with pytest.raises(ModelUnavailable, match="does not exist"):
        server.start(s)


def test_status_and_stop_when_nothing_runs(tmp_path: Path) -> None:
    s = Settings(home=tmp_path, engine_port=9126)
    st = server.status(s)
    assert (st.running, st.healthy, st.pid, st.detail) == (False, False, None, "not running")
    assert server.stop(s) is False


def test_an_unreachable_external_endpoint_is_a_clear_error(tmp_path: Path) -> None:
    s = Settings(home=tmp_path, llm_base_url="http://127.0.0.1:9/v1")
    with pytest.raises(server.EngineError, match="does not answer"):
        server.ensure_running(s)
    assert server.status(s).detail == "external endpoint not reachable"


def test_stop_kills_the_whole_process_group(tmp_path: Path) -> None:
    """A stand-in engine (its command line names the launcher) with a worker in its group."""
    s = Settings(home=tmp_path, engine_port=9127)
    script = ("import subprocess, sys, time; "
              "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)']); time.sleep(120)")
    leader = subprocess.Popen([sys.executable, "-c", script, engine_vllm.LAUNCHER.name], start_new_session=True)
    try:
        s.log_dir.mkdir(parents=True)
        _, pid_file, state_file = server._paths(s)
        pid_file.write_text(f"{leader.pid}\n")
        state_file.write_text('{"started_at": 0}')
        deadline = time.monotonic() + 30
        while len(_group(leader.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(_group(leader.pid)) == 2
        assert server.status(s).running
        assert server.stop(s, timeout=10) is True
        leader.wait(timeout=5)
        assert _group(leader.pid) == []
        assert not pid_file.exists() and not state_file.exists()
    finally:
        if leader.poll() is None:
            os.killpg(leader.pid, 9)


def _group(pgid: int) -> list[int]:
    members = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                stat = (proc / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(stat[2]) == pgid and stat[0] != "Z":
                members.append(int(proc.name))
    return members


def test_an_engine_started_from_another_home_is_found_by_its_port(tmp_path: Path) -> None:
    """A stand-in engine on port 9128 whose pid file lives in another ARGUS_HOME."""
    here = Settings(home=tmp_path / "here", engine_port=9128)
    leader = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)", engine_vllm.LAUNCHER.name,
                               "serve", "/m", "--port", "9128"], start_new_session=True)
    try:
        deadline = time.monotonic() + 10
        while server._engine_on_port(9128) is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert server._engine_on_port(9128) == leader.pid
        assert server._engine_on_port(9129) is None
        st = server.status(here)
        assert st.running and st.pid == leader.pid and st.uptime_s is not None
        assert "another ARGUS_HOME" in st.detail
        assert server.stop(here, any_home=False) is False and leader.poll() is None
        assert server.stop(here, timeout=10) is True
        leader.wait(timeout=5)
    finally:
        if leader.poll() is None:
            os.killpg(leader.pid, 9)


def test_prompts_and_generation_use_every_usable_core(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from models.llm import cpu

    monkeypatch.setattr(cpu, "usable_cores", lambda: [0, 1, 2, 3])
    auto = Settings(home=tmp_path)
    assert cpu.engine_threads(auto) == 4 and cpu.batch_threads(auto) == 4
    fixed = Settings(home=tmp_path, engine_threads=1, engine_threads_batch=2)
    assert cpu.engine_threads(fixed) == 1 and cpu.batch_threads(fixed) == 2
