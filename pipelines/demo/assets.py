"""Finding the local inputs: fonts, scikit-image's bundled photographs, the shared
speech recordings and the espeak-ng binary. Nothing is ever downloaded."""

from __future__ import annotations

import functools
import importlib.util
import os
import shutil
import subprocess
from pathlib import Path

from PIL import Image

REPO_ROOT = Path(__file__).resolve().parents[2]

# Debian packages that provide what is looked up here, named in the error messages.
CJK_FONT_PACKAGE = "fonts-wqy-microhei"
ESPEAK_PACKAGE = "espeak-ng"

_CJK_FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/arphic/uming.ttc",
)


class MissingAsset(RuntimeError):
    """A local input the demo corpus needs is not installed."""


@functools.cache
def latin_font() -> Path:
    """DejaVu Sans: matplotlib ships it, and Debian usually has it too."""
    candidates = []
    spec = importlib.util.find_spec("matplotlib")
    if spec and spec.origin:
        candidates.append(Path(spec.origin).parent / "mpl-data" / "fonts" / "ttf" / "DejaVuSans.ttf")
    candidates.append(Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"))
    for path in candidates:
        if path.is_file():
            return path
    raise MissingAsset("DejaVuSans.ttf not found: install matplotlib or the Debian package fonts-dejavu-core")


@functools.cache
def cjk_font() -> Path:
    """A font with Chinese glyphs, for the Chinese slides and PDF page.

    `ARGUS_CJK_FONT` overrides the search; otherwise well-known Debian paths, then fontconfig.
    """
    override = os.environ.get("ARGUS_CJK_FONT")
    if override:
        path = Path(override).expanduser()
        if not path.is_file():
            raise MissingAsset(f"ARGUS_CJK_FONT={override!r} is not a file")
        return path
    for candidate in _CJK_FONT_CANDIDATES:
        if Path(candidate).is_file():
            return Path(candidate)
    if shutil.which("fc-list"):
        out = subprocess.run(
            ["fc-list", ":lang=zh", "file"], capture_output=True, text=True, check=False
        ).stdout
        files = sorted(line.split(":")[0].strip() for line in out.splitlines() if line.strip())
        for f in files:
            if f.lower().endswith((".ttf", ".ttc", ".otf")) and Path(f).is_file():
                return Path(f)
    raise MissingAsset(
        f"no font with Chinese glyphs found: install the Debian package {CJK_FONT_PACKAGE} "
        "(apt-get install fonts-wqy-microhei) or set ARGUS_CJK_FONT to a .ttf/.ttc file"
    )


def _package_dir(package: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None:
        raise MissingAsset(f"{package} is not installed")
    return Path(spec.origin).parent


# Sample photographs that ship inside installed wheels. `skimage.data` itself would fetch
# the images it does not bundle from the network, so files are read straight from disk.
_PHOTO_FOLDERS = {
    "skimage": ("skimage", "data"),
    "matplotlib": ("matplotlib", "mpl-data/sample_data"),
}


def photo_path(ref: str) -> Path:
    """`"coffee.png"` (scikit-image's data folder) or `"matplotlib:grace_hopper.jpg"`."""
    source, _, name = ref.rpartition(":")
    package, folder = _PHOTO_FOLDERS[source or "skimage"]
    path = _package_dir(package) / folder / name
    if not path.is_file():
        raise MissingAsset(f"{name} is not bundled in this {package} install ({path} missing)")
    return path


def load_photo(ref: str) -> Image.Image:
    """A bundled sample photograph as RGB; transparent images are flattened on white."""
    with Image.open(photo_path(ref)) as im:
        if im.mode in ("RGBA", "LA", "P"):
            # Silhouettes with transparency: flatten on white so the shape stays visible.
            rgba = im.convert("RGBA")
            flat = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
            return Image.alpha_composite(flat, rgba).convert("RGB")
        return im.convert("RGB")


def shared_data_dir() -> Path:
    """The shared data folder: `ARGUS_SHARED_DATA`, else `<repo>/../shared/data`."""
    override = os.environ.get("ARGUS_SHARED_DATA")
    if override:
        return Path(override).expanduser()
    return REPO_ROOT.parent / "shared" / "data"


def shared_recording(name: str) -> Path | None:
    """A real speech recording from the shared audio folder, or None when absent."""
    path = shared_data_dir() / "audio" / name
    return path if path.is_file() else None


@functools.cache
def espeak_binary() -> str:
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise MissingAsset(f"espeak-ng not found: install the Debian package {ESPEAK_PACKAGE}")
    return exe


@functools.cache
def espeak_version() -> str:
    out = subprocess.run([espeak_binary(), "--version"], capture_output=True, text=True, check=True).stdout
    return out.strip()
