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

from pydantic import Field, model_validator
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

    # LLM engine: a local server started on demand (llama.cpp or vLLM), or any OpenAI-compatible endpoint.
    llm_backend: Literal["llamacpp", "vllm", "inprocess"] = Field(
        "llamacpp", description="llamacpp: llama.cpp's llama-server on the shipped GGUF (the embedded default); "
        "vllm: a local vLLM server (GPU hosts, or CPU on request); inprocess: transformers in this process (fallback).")
    llm_chat_model: Literal["auto", "qwen2.5-coder-0.5b", "qwen2.5-coder-1.5b"] = Field(
        "auto", description="The shipped chat model the local engine serves; auto: the 1.5B on llama.cpp "
        "(held-out agent pass rate 0.89 against the 0.5B's 0.74, docs/engine.md), the 0.5B on vLLM and in "
        "process (the only one converted to Hugging Face safetensors).")
    llm_base_url: str | None = Field(None, description="OpenAI-compatible endpoint; empty: the local engine.")
    llm_api_key: str = Field("EMPTY", description="API key for llm_base_url.")
    llm_model: str = Field("", description="Served model name; empty: '<llm_chat_model>-instruct'.")
    llm_connect_timeout_s: float = Field(5.0, gt=0, description="Connect timeout of every LLM HTTP request.")
    llm_read_timeout_s: float = Field(600.0, gt=0, description="Longest wait for the next bytes of an LLM reply "
                                      "(a long prompt on a busy CPU can take minutes before its first token).")
    engine_host: str = "127.0.0.1"
    engine_port: int = 8011
    engine_threads: int = Field(0, ge=0, description="CPU threads of the local engine (llama.cpp: generation); 0: "
                                "every core this process may run on (os.sched_getaffinity). 1 on a 2-core "
                                "machine that ingests while it answers.")
    engine_q8_0: Literal["auto", "on", "off"] = Field("auto", description="llama.cpp: serve a Q8_0 copy of the "
                                                       "GGUF (written once beside it); auto: when the build lacks "
                                                       "AVX-512 and the file is mostly Q5_0 (the 0.5B).")
    engine_threads_batch: int = Field(0, ge=0, description="llama.cpp: threads for prompt processing "
                                      "(--threads-batch); 0: every core this process may run on (prefill is "
                                      "compute-bound, and the answer waits on it).")
    engine_parallel: int = Field(4, ge=1, description="llama.cpp: requests decoded together (server slots, "
                                 "each with its own max_model_len of KV cache).")
    engine_prompt_cache_mib: int = Field(256, ge=0, description="llama.cpp: host memory for prompts swapped out "
                                         "of the slots (--cache-ram; its default, 8 GiB, would let RSS grow that far).")
    engine_llamacpp_server: str = Field("", description="llama.cpp: the llama-server binary; empty: the one "
                                        "scripts/setup.sh built into the virtual environment.")
    engine_dtype: Literal["float32", "bfloat16", "float16", "auto"] = Field(
        "auto", description="vLLM weights dtype; auto: the model's on a GPU, on a CPU bfloat16 where it has "
        "AVX-512-BF16/AMX and float32 elsewhere (AVX2 has no native bf16).")
    engine_max_model_len: int = 4096
    engine_cpu_kvcache_gib: int = Field(2, description="VLLM_CPU_KVCACHE_SPACE on CPU hosts.")
    engine_gpu_memory_utilization: float = 0.9
    engine_max_num_seqs: int = 8
    engine_max_num_batched_tokens: int = 4096
    engine_enable_chunked_prefill: bool = True
    engine_enable_lora: bool = False
    engine_enforce_eager: bool = Field(True, description="Skip graph compilation (minutes on CPU).")
    llm_max_tokens: int = Field(1024, description="Default completion budget per call; prompt + this must fit max_model_len.")
    engine_device: Literal["auto", "cpu", "cuda"] = Field("auto", description="auto: CUDA when the installed vLLM and torch have it.")
    engine_cpu_threads: str = Field("", description="vLLM: VLLM_CPU_OMP_THREADS_BIND, e.g. '0-1'; empty: the first "
                                    "engine_threads cores this process may use (all with engine_threads=0).")
    engine_start_timeout_s: float = Field(600, description="Give up on a starting engine after this long.")

    # Ingestion limits.
    max_file_mb: int = Field(4096, description="Files larger than this are refused.")
    max_duration_s: float = Field(4 * 3600, description="Media longer than this is refused.")
    threads: int = Field(2, description="CPU threads for model runtimes.")

    # Media analysis: speech recognition, keyframe selection and per-keyframe vision.
    asr_beam_size: int = Field(2, description="Whisper beam width (1: greedy; 5 cost ~10% more CPU and was no more accurate here).")
    asr_window_s: float = Field(24.0, description="Whisper window; VAD speech is packed into windows up to this long. Whisper's "
                                "encoder always reads 30 s, so 15 s windows (the seed's) cost ~25% more CPU on continuous speech.")
    asr_overlap_s: float = Field(2.0, description="Overlap between consecutive windows cut inside continuous speech.")
    asr_merge_gap_s: float = Field(3.0, description="Speech spans closer than this share a window (1.5 s split the demo "
                                   "corpus into 35 windows of ~8 s, each paying a full 30 s encoder pass; 3 s: 19).")
    asr_no_repeat_ngram_size: int = Field(8, description="Forbid repeating any token n-gram within a window (stops loops); 0: off.")
    asr_repetition_penalty: float = Field(1.0, description="Whisper repetition penalty (>1 discourages repeated tokens).")
    vad_threshold: float = Field(0.5, description="Silero VAD speech probability threshold.")
    keyframe_top_k: int = Field(5, description="Most-changed frames kept per video (the seed's top-5), besides coverage frames.")
    keyframe_interval_s: float = Field(10.0, description="Every stretch this long without a keyframe gets its most-changed frame.")
    keyframe_sample_fps: float = Field(4.0, description="Frames per second compared for frame differencing.")
    keyframe_dedup_cosine: float = Field(0.9, description="Keyframes whose image embeddings are this similar may be duplicates...")
    keyframe_dedup_max_change: float = Field(3.0, description="...when they also differ by less than this mean grayscale difference (0-255).")
    keyframe_max_width: int = Field(640, description="Keyframe JPEG width (the visual stage reads these JPEGs).")
    detector_min_score: float = Field(0.5, description="COCO detections below this score are dropped.")
    tag_min_score: float = Field(0.1, description="ImageNet tags below this probability are dropped.")
    visual_evidence_min_score: float = Field(0.3, description="COCO detections down to this score are kept as "
                                             "class evidence (the class-space vector), with counts and box areas.")
    visual_crops: bool = Field(True, description="Also tag a 2x2 grid, the centre and detected boxes of each keyframe "
                               "(about 8 more tagger passes a keyframe), so several things in one frame are seen.")
    visual_detect_tiles: bool = Field(True, description="Also run the detector on the four quarters of each "
                                      "keyframe (4 more detector passes, +0.4 CPU-s a keyframe), which find objects "
                                      "too small for its 300x300 view of the whole frame (a distant car or person).")
    class_space: bool = Field(True, description="Score keyframes by their class-space vector: the probability-weighted "
                              "mix of ImageNet/COCO class-name embeddings in the text-embedding space (ConSE).")
    class_space_model: Literal["embeddinggemma", "text_embedding"] = Field(
        "embeddinggemma", description="The embedding model in whose space class names and visual queries meet: "
        "EmbeddingGemma-300M (role class_embedding; the class-space signal alone put every real-footage dev "
        "target in the top 5, against 16 of 19 with e5), or "
        "the text-embedding model (multilingual-e5-small) that the dense channel uses.")
    class_embedding_model: str | None = Field(None, description="sentence-transformers folder for the class space; "
                                              "default: EmbeddingGemma-300M, downloaded by `argus models prepare`.")
    class_space_top_k: int = Field(10, ge=1, description="ImageNet classes mixed into a class-space vector.")
    class_space_view_max_share: float = Field(0.5, ge=0, le=1, description="How a keyframe's views (whole frame, "
                                              "crops, boxes) pool their ImageNet probabilities: this share of "
                                              "their maximum, the rest their weighted mean (0: the mean only).")
    class_space_object_weight: float = Field(2.0, ge=0, description="Weight of the COCO detections against the "
                                             "ImageNet probability mass in a class-space vector.")
    class_space_colour_weight: float = Field(0.0, ge=0, description="Weight of the keyframe's colour terms (red, "
                                             "black and white, ...) in its class-space vector (0: none).")
    class_space_people_weight: float = Field(0.5, ge=0, description="How far a keyframe's COCO \"person\" vector "
                                             "leans towards the phrase of how many people were detected (\"two "
                                             "people\", \"a crowd\"); 0: not at all.")
    class_space_image_weight: float = Field(1.0, ge=0, description="Weight of the class space's image half: the "
                                            "query mapped into the tagger's image-embedding space and scored "
                                            "against each keyframe's embedding, summed with the ConSE half "
                                            "(models/class_space/image_map.py; 0: ConSE alone).")
    class_space_source_context: float = Field(0.0, ge=0, description="Weight of the mean class-space vector of all "
                                              "the source's keyframes added to each keyframe's vector (0: none; 0.5 "
                                              "measured no better on the development queries, see "
                                              "docs/eval/retrieval/real_footage.md).")
    fusion_confidence: bool = Field(True, description="Weight each channel per query by its own confidence (how "
                                    "far its best raw score stands above the rest), so weak text hits of unrelated "
                                    "documents do not outvote a confident visual channel.")
    fusion_text_share: bool = Field(True, description="With fusion_confidence: scale the keyword and dense weights "
                                    "by how far the base's best text row beats the best-matching class name (a "
                                    "thing one can see), so picture queries are left to the visual channel.")

    # Ingestion jobs: the batch runner, document chunking and index publishing.
    ingest_workers: int = Field(0, ge=0, description="Files `argus ingest` processes in parallel (worker processes); 0: "
                                "one per `threads` when a batch has several audio or video files, else 1.")
    ingest_engine: Literal["local", "ray"] = Field("local", description="Where files are processed: local processes or Ray.")
    ray_address: str | None = Field(None, description="Ray cluster to join with --engine ray; empty: start a local Ray.")
    chunk_tokens: int = Field(256, description="Document chunk size in chat-LLM tokens.")
    chunk_overlap_tokens: int = Field(48, description="Tokens shared by neighbouring chunks.")
    index_publish_interval_s: float = Field(30.0, description="During a batch, publish new index versions at most this often.")
    index_ann_min_vectors: int = Field(50_000, ge=0, description="A vector index with at least this many vectors is "
                                       "also published as HNSW, which searches use; smaller ones stay exact (flat). "
                                       "0: never HNSW.")
    index_hnsw_m: int = Field(16, ge=4, le=128, description="HNSW links per vector (more: better recall, more memory).")
    index_hnsw_ef_construction: int = Field(80, ge=8, description="HNSW candidate list while building.")
    index_hnsw_ef_search: int = Field(128, ge=8, description="HNSW candidate list per search (at least k is used).")
    index_exact_search: bool = Field(False, description="Search the exact flat indexes even where HNSW exists "
                                     "(slower; for recall checks).")
    ingest_file_timeout_s: float = Field(3600.0, ge=0, description="A file still processing after this long in a "
                                         "worker process is failed and the worker killed (the API then always uses "
                                         "worker processes; `argus ingest` with one worker runs files in-process, "
                                         "unbounded). 0: no limit, and the API processes files in-process.")
    compose_captions: bool = Field(False, description="Without a VLM, have the chat LLM compose video captions "
                                   "from transcript and keyframe findings (starts the LLM engine; slow on CPU).")

    # Agents: the LangGraph team, its budgets and the code sandbox.
    agent_max_steps: int = Field(6, description="Plan steps executed per run; the rest are reported as not done.")
    agent_max_replans: int = Field(1, description="Times the planner may re-plan after failed steps.")
    agent_recursion_limit: int = Field(40, description="LangGraph super-steps per run (graph recursion limit).")
    agent_max_tokens: int = Field(12000, description="LLM tokens (prompt + completion) per run.")
    agent_node_max_tokens: int = Field(384, description="Completion budget of one agent LLM call.")
    agent_search_k: int = Field(4, description="Evidence items one knowledge-base search returns to the researcher.")
    agent_review_plan: bool = Field(False, description="Pause after planning for a person to accept or edit the plan.")
    sandbox_runner: Literal["bwrap", "process", "container"] = Field(
        "bwrap", description="bwrap: bubblewrap OS jail (namespaces, read-only system, scratch-only writes); "
        "process: a weaker opt-in, a limited subprocess that sees the host's files; container: docker run "
        "(docker-compose deployment). With bwrap unavailable, code is refused, never run with less.")
    sandbox_image: str = Field("argus:latest", description="Image of the container runner (needs pandas, numpy, matplotlib).")
    sandbox_wall_s: float = Field(60.0, description="Wall-clock limit of one sandboxed snippet.")
    sandbox_cpu_s: float = Field(20.0, description="CPU-time limit of one sandboxed snippet.")
    sandbox_memory_mb: int = Field(1024, description="Address-space limit of one sandboxed snippet.")
    sandbox_file_mb: int = Field(20, description="Largest file a snippet may write.")
    sandbox_max_processes: int = Field(16, description="Process cap (pids cgroup where one can be made, the container's "
                                       "pids limit, RLIMIT_NPROC for non-root runs).")
    sandbox_output_keep_kb: int = Field(10, description="Per stream, the first and the last this many KiB of a "
                                        "snippet's output are kept; the middle is counted and cut.")
    sandbox_max_output_mb: int = Field(8, description="A snippet writing more output than this (both streams) is killed.")
    sandbox_modules: list[str] = Field(
        ["pandas", "numpy", "matplotlib", "math", "statistics", "json", "csv", "datetime", "re",
         "collections", "itertools", "functools", "decimal", "fractions", "random", "textwrap", "string"],
        description="Top-level modules a snippet may import.")

    # Legal tool: the charge classifier, its precedent base and the sentencing step (models/legal).
    legal_data: Path | None = Field(None, description="CAIL2018-format training file (train.jsonl); its folder "
                                    "holds accu.txt. Default data of `argus legal` verbs and source of the precedent base.")
    legal_attn_implementation: str = Field("argus_attention", description="Attention of the legal classifier: the "
                                           "project's kernels; 'sdpa' only to bypass them.")
    legal_batch_size: int = Field(8, description="Classifier batch size (training and inference).")
    legal_baseline_weight: float = Field(1.0, ge=0.0, le=1.0, description="Share of the TF-IDF baseline in the "
                                         "pipeline's charge probabilities: 1 the baseline alone (best with a classifier "
                                         "trained within a CPU budget, see docs/eval/legal), 0 the classifier alone.")
    legal_min_confidence: float = Field(0.15, description="Below this classifier probability no charge is identified "
                                        "(baseline on valid.jsonl: 20 of 470 crimes below 0.15; civil and everyday texts 0.02-0.12).")
    legal_min_similarity: float = Field(0.9, description="Precedents less similar (cosine) than this are not used.")
    legal_precedents: int = Field(5, description="Precedents shown to the sentencing LLM.")
    legal_min_filtered: int = Field(3, description="Fewer same-charge precedents than this: search all charges.")
    legal_sentencing_runs: int = Field(3, description="Structured sentencing calls merged by vote / median.")

    # REST API (app/api): `argus serve`. With no API keys in `api_keys_file` the API is open, but only to
    # loopback clients; once a key exists every request needs a bearer key with the route's scope.
    api_host: str = Field("127.0.0.1", description="Interface `argus serve` binds; loopback unless you mean to expose it.")
    api_port: int = Field(8080, description="Port `argus serve` listens on.")
    api_keys_file: Path | None = Field(None, description="Hashed API keys; default: $ARGUS_HOME/api_keys.json.")
    api_rate_limit_per_min: float = Field(120.0, description="Sustained requests per minute per key (token bucket).")
    api_rate_burst: int = Field(30, description="Requests a key may make at once before the rate limit applies.")
    api_max_request_kb: int = Field(1024, description="Largest non-upload request body (JSON), in KiB.")
    api_max_upload_mb: int = Field(1024, description="Largest upload request (multipart ingest), in MiB.")
    api_cors_origins: list[str] = Field([], description="Browser origins allowed to call the API (CORS); empty: none.")
    api_allowed_hosts: list[str] = Field([], description="With no API keys, Host names accepted besides loopback "
                                         "(localhost, 127.0.0.1, [::1]); others get 403 (DNS rebinding).")
    api_allowed_origins: list[str] = Field([], description="With no API keys, browser origins allowed to POST/PUT/PATCH/"
                                           "DELETE; empty: the UI's and the API's own loopback origins (plus "
                                           "api_cors_origins).")
    ingest_roots: list[Path] = Field([], description="Server-side folders POST /v1/ingest may read; empty: uploads only.")
    keep_failed_uploads: bool = Field(False, description="Keep uploaded files whose ingest failed (for a look); "
                                      "otherwise they are deleted, as are duplicates and uploads of deleted sources.")
    api_max_agent_runs: int = Field(4, ge=1, description="Agent runs in progress at once, all callers together "
                                    "(429 with Retry-After past it).")
    api_max_agent_runs_per_key: int = Field(2, ge=1, description="Agent runs in progress at once per key (per "
                                            "client address with no keys).")
    api_max_ingest_batches: int = Field(8, ge=1, description="Ingest batches queued or running at once, all callers.")
    api_max_ingest_batches_per_key: int = Field(4, ge=1, description="Ingest batches queued or running at once per key.")

    # Web UI (ui/): `argus ui`, a Streamlit app that is a client of the REST API.
    ui_api_url: str | None = Field(None, description="API the UI talks to; default: http://{api_host}:{api_port}, "
                                   "which `argus ui` starts itself when nothing answers there.")
    ui_api_key: str = Field("", description="Bearer key the UI sends once API keys exist (scope read; admin for "
                            "deleting sources and the Status page).")
    ui_media_url: str | None = Field(None, description="The API's address as the user's browser sees it, for "
                                     "streaming media (signed links); default: the UI's API URL.")
    ui_host: str = Field("127.0.0.1", description="Interface the UI binds.")
    ui_port: int = Field(8501, description="Port the UI listens on.")

    @model_validator(mode="after")
    def _served_name_follows_the_chat_model(self) -> Settings:
        if self.llm_chat_model == "auto":
            self.llm_chat_model = "qwen2.5-coder-1.5b" if self.llm_backend == "llamacpp" else "qwen2.5-coder-0.5b"
        # The served name says which model answers (`argus engine status`, usage records).
        if not self.llm_model:
            self.llm_model = f"{self.llm_chat_model}-instruct"
        return self

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
    def legal_dir(self) -> Path:
        return self.home / "legal"

    @property
    def log_dir(self) -> Path:
        return self.home / "logs"

    @property
    def uploads_dir(self) -> Path:
        return self.home / "uploads"

    @property
    def api_keys_path(self) -> Path:
        return self.api_keys_file or self.home / "api_keys.json"


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
