"""sha256 of served files, computed once per (path, size, mtime): strong ETags and content-hashed URLs."""
import hashlib
import os
from functools import lru_cache
from pathlib import Path


@lru_cache(maxsize=4096)
def _digest(path: str, size: int, mtime_ns: int) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            h.update(block)
    return h.hexdigest()


def file_sha256(path: Path, st: os.stat_result | None = None) -> str:
    st = st or path.stat()
    return _digest(str(path), st.st_size, st.st_mtime_ns)
