"""llama.cpp's own test set of chat templates (vendor/llama.cpp/models/templates/*.jinja: Qwen, Llama 3.x,
Gemma, Mistral, Granite, DeepSeek, ...), taken from the llama-cpp-python sdist on PyPI by pinned version and
sha256 at test time, into build/ (ignored, never committed). pip fetches it (pip prepares the sdist's
metadata, nothing is built)."""
import hashlib
import subprocess
import sys
import tarfile
from pathlib import Path

VERSION = "0.3.36"
SHA256 = "832db0699007f1be95a7e41ef12e88926b02ba836461e36a36372db2760c1a2e"
ROOT = Path(__file__).resolve().parents[2]
STORE = ROOT / "build" / "llamacpp-templates" / VERSION
MEMBER_DIR = "vendor/llama.cpp/models/templates/"


def sdist_fetch(out_dir: Path) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    sdist = out_dir / f"llama_cpp_python-{VERSION}.tar.gz"
    if not sdist.is_file():
        requirement = out_dir / "requirement.txt"
        requirement.write_text(f"llama-cpp-python=={VERSION} --hash=sha256:{SHA256}\n")
        subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary=:all:",
                        "--require-hashes", "-r", str(requirement), "-d", str(out_dir)], check=True)
    digest = hashlib.sha256(sdist.read_bytes()).hexdigest()
    if digest != SHA256:
        sdist.unlink()
        raise RuntimeError(f"{sdist.name}: sha256 {digest}, expected {SHA256}")
    return sdist


def templates_get() -> dict[str, str]:
    """{file name: template source} for every *.jinja of the pinned set (fetched and unpacked once)."""
    done = STORE / ".unpacked"
    if not done.is_file():
        sdist = sdist_fetch(STORE / "sdist")
        with tarfile.open(sdist) as tar:
            for member in tar.getmembers():
                name = member.name.split("/", 1)[-1]
                if member.isfile() and name.startswith(MEMBER_DIR) and name.endswith(".jinja"):
                    (STORE / Path(name).name).write_bytes(tar.extractfile(member).read())
        (STORE / "sdist" / sdist.name).unlink()   # 77 MB: the templates are all that is kept
        done.write_text(SHA256)
    return {p.name: p.read_text() for p in sorted(STORE.glob("*.jinja"))}
