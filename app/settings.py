"""One typed settings object for all of Argus.

Values come from, highest precedence first: keyword arguments, environment variables
(`ARGUS_*`), an `argus.toml` file, then the defaults below. The TOML file is the one
named by `ARGUS_CONFIG`, else `./argus.toml`, else `$ARGUS_HOME/argus.toml`.
`ARGUS_HOME` holds all state: catalog, indexes, model cache, logs.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import Field
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

ENV_PREFIX = "ARGUS_"


def default_home() -> Path:
    return Path(os.environ.get("ARGUS_HOME", Path.home() / ".argus")).expanduser()


def config_file() -> Path | None:
    """The TOML file settings are read from, or None when there is none."""
    explicit = os.environ.get("ARGUS_CONFIG")
    if explicit:
        return Path(explicit).expanduser()
    for candidate in (Path.cwd() / "argus.toml", default_home() / "argus.toml"):
        if candidate.is_file():
            return candidate
    return None


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", validate_default=True)

    home: Path = Field(default_factory=default_home, description="All state lives here.")
    models_dir: Path | None = Field(None, description="Model cache; default: $ARGUS_HOME/models (share it between bases).")

    # Model weights. Empty means "the shipped default" for roles that have one and
    # "absent" for roles that do not (CLIP, cross-encoder reranker, VLM captioner).
    asr_model: str | None = Field(None, description="faster-whisper (CTranslate2) model folder.")
    openai_whisper_model: str | None = Field(None, description="openai-whisper .pt checkpoint (alternative ASR backend).")
    embedding_model: str | None = Field(None, description="sentence-transformers folder; default: shipped multilingual-e5-small.")
    clip_model: str | None = Field(None, description="open_clip / Hugging Face CLIP folder or id.")
    reranker_model: str | None = Field(None, description="Cross-encoder reranker folder or id.")
    captioner_model: str | None = Field(None, description="Vision-language captioner (e.g. Qwen2.5-VL) folder or id.")
    chat_model: str | None = Field(None, description="Chat LLM: a GGUF file or Hugging Face folder.")
    legal_base_model: str | None = Field(None, description="Base model of the legal classifier; default: the chat LLM's HF conversion.")
    allow_hub: bool = Field(False, description="Allow Hugging Face / open_clip ids (needs a hub). Off: local paths only.")

    # LLM engine: a local vLLM server started on demand, or any OpenAI-compatible endpoint.
    llm_base_url: str | None = Field(None, description="OpenAI-compatible endpoint; empty: the local vLLM engine.")
    llm_api_key: str = Field("EMPTY", description="API key for llm_base_url.")
    llm_model: str = Field("qwen2.5-coder-0.5b-instruct", description="Served model name.")
    engine_host: str = "127.0.0.1"
    engine_port: int = 8011
    engine_dtype: Literal["float32", "bfloat16", "float16", "auto"] = "float32"
    engine_max_model_len: int = 4096
    engine_cpu_kvcache_gib: int = Field(2, description="VLLM_CPU_KVCACHE_SPACE on CPU hosts.")
    engine_gpu_memory_utilization: float = 0.9
    engine_max_num_seqs: int = 8
    engine_max_num_batched_tokens: int = 4096
    engine_enable_chunked_prefill: bool = True
    engine_enable_lora: bool = False
    engine_enforce_eager: bool = Field(True, description="Skip graph compilation (minutes on CPU).")
    llm_backend: Literal["vllm", "inprocess"] = Field(
        "vllm", description="vllm: the local vLLM server (or llm_base_url); inprocess: transformers in this process (fallback).")
    llm_max_tokens: int = Field(1024, description="Default completion budget per call; prompt + this must fit max_model_len.")
    engine_device: Literal["auto", "cpu", "cuda"] = Field("auto", description="auto: CUDA when the installed vLLM and torch have it.")
    engine_cpu_threads: str = Field("", description="VLLM_CPU_OMP_THREADS_BIND, e.g. '0-1'; empty: every core this process may use.")
    engine_start_timeout_s: float = Field(600, description="Give up on a starting engine after this long.")

    # Ingestion limits.
    max_file_mb: int = Field(4096, description="Files larger than this are refused.")
    max_duration_s: float = Field(4 * 3600, description="Media longer than this is refused.")
    threads: int = Field(2, description="CPU threads for model runtimes.")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        toml = config_file()
        if toml is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=toml))
        return tuple(sources)

    # Layout of ARGUS_HOME, in one place.
    @property
    def model_cache(self) -> Path:
        return self.models_dir or self.home / "models"

    @property
    def catalog_path(self) -> Path:
        return self.home / "catalog.sqlite"

    @property
    def index_dir(self) -> Path:
        return self.home / "indexes"

    @property
    def media_dir(self) -> Path:
        return self.home / "media"

    @property
    def log_dir(self) -> Path:
        return self.home / "logs"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings. Call `get_settings.cache_clear()` after changing the environment."""
    return Settings()


@dataclass(frozen=True)
class SettingValue:
    name: str
    value: Any
    source: str  # "argument", "env ARGUS_X", "argus.toml (path)" or "default"


def explain_settings(settings: Settings) -> list[SettingValue]:
    """Each effective value with where it came from (same precedence as `Settings`)."""
    toml_path = config_file()
    toml_values: dict[str, Any] = {}
    if toml_path is not None and toml_path.is_file():
        import tomllib

        toml_values = tomllib.loads(toml_path.read_text(encoding="utf-8"))
    env = {k.upper(): v for k, v in os.environ.items()}
    rows = []
    for name in Settings.model_fields:
        env_name = f"{ENV_PREFIX}{name.upper()}"
        if env_name in env:
            source = f"env {env_name}"
        elif name in toml_values:
            source = f"argus.toml ({toml_path})"
        elif name == "home":
            source = "default (~/.argus)"
        else:
            source = "default"
        rows.append(SettingValue(name, getattr(settings, name), source))
    return rows
