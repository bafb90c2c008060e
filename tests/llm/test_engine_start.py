"""Starting a real engine on a model it cannot load: a quick, explained failure (llama.cpp and vLLM)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from absent import absent

from core.settings import Settings
from models.llm import server
from models.llm.llamacpp_build import build_info

pytestmark = pytest.mark.integration


def test_llamacpp_on_a_broken_gguf_fails_with_its_log_tail(tmp_path: Path) -> None:
    if not build_info(Settings()).runs_here:
        absent("llama-server is not built here (scripts/build_llama_server.sh)")
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(b"GGUF" + b"\0" * 64)
    settings = Settings(home=tmp_path / "home", chat_model=str(broken), engine_port=8098, llm_backend="llamacpp",
                        engine_start_timeout_s=120)
    started = time.monotonic()
    with pytest.raises(server.EngineError) as err:
        server.start(settings)
    message = str(err.value)
    assert "llama.cpp engine exited during start-up" in message
    assert "last lines:" in message and str(settings.log_dir / "llamacpp-8098.log") in message
    assert time.monotonic() - started < 30
    st = server.status(settings)  # nothing left behind
    assert not st.running and st.pid is None and not (settings.log_dir / "engine-8098.pid").exists()


@pytest.mark.vllm
def test_engine_that_exits_early_fails_with_its_log_tail(tmp_path: Path) -> None:
    broken = tmp_path / "broken-model"
    broken.mkdir()
    (broken / "config.json").write_text(json.dumps({"architectures": ["NoSuchModel"], "model_type": "no-such-type"}))
    settings = Settings(home=tmp_path / "home", chat_model=str(broken), engine_port=8099, engine_start_timeout_s=300,
                        llm_backend="vllm")
    started = time.monotonic()
    with pytest.raises(server.EngineError) as err:
        server.start(settings)
    elapsed = time.monotonic() - started
    message = str(err.value)
    assert "vLLM engine exited during start-up" in message
    assert "no-such-type" in message.splitlines()[0]  # the cause leads the message
    assert "last lines:" in message and str(settings.log_dir / "vllm-8099.log") in message
    assert elapsed < 240  # vLLM's imports and config check only; no hang until the timeout
    st = server.status(settings)  # nothing left behind
    assert not st.running and st.pid is None and not (settings.log_dir / "engine-8099.pid").exists()
