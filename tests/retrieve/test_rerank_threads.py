"""The LLM reranker loads the chat model's tokenizer before `chat.batch` starts its worker threads:
first loaded from several threads at once, transformers' lazy import failed with
"cannot import name 'AutoTokenizer' from 'transformers'" (seen in `argus eval retrieval`)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from absent import absent

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parents[2]
# A fresh interpreter (transformers not yet imported): build the reranker, then eight threads ask for
# the tokenizer at once, as chat.batch's threads do when each checks its prompt's length.
SCRIPT = """
import sys
from concurrent.futures import ThreadPoolExecutor
from models.llm.budget import tokenizer_for
from models.llm.client import ArgusChatOpenAI
from pipelines.retrieve.rerank import LLMReranker

path = sys.argv[1]
if sys.argv[2] == "reranker":
    LLMReranker(ArgusChatOpenAI(base_url="http://127.0.0.1:9/v1", api_key="EMPTY", model="m", tokenizer_path=path))
def load(_):
    try:
        tokenizer_for(path)
        return "ok"
    except ImportError as exc:
        return f"ImportError: {exc}"
with ThreadPoolExecutor(8) as pool:
    print(sorted(set(pool.map(load, range(8)))))
"""


def chat_llm_folder() -> str:
    from models.registry import get_registry

    status = get_registry().status("chat_llm")
    if status.state != "real" or "converted on first use" in status.source:
        absent("the chat LLM is not prepared: run `argus models prepare chat_llm`")
    return str(status.path)


def test_tokenizer_loads_before_the_reranker_threads_start() -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    result = subprocess.run([sys.executable, "-c", SCRIPT, chat_llm_folder(), "reranker"], capture_output=True,
                            text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "['ok']", result.stdout
