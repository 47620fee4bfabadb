"""What the page needs to know about a GGUF before its bytes arrive, read with the `gguf` package."""
from pathlib import Path

import gguf
import numpy as np


class GGUFError(ValueError):
    """The file is not a GGUF this project can pack."""


def reader_open(path: Path) -> gguf.GGUFReader:
    if not path.is_file():
        raise GGUFError(f"{path}: not a file")
    with path.open("rb") as f:
        magic = f.read(4)
    if magic != b"GGUF":
        raise GGUFError(f"{path}: not a GGUF file (magic {magic!r}, expected b'GGUF')")
    try:
        reader = gguf.GGUFReader(path)
    except Exception as e:  # the reader fails with whatever numpy raises on short or garbled input
        raise GGUFError(f"{path}: malformed or truncated GGUF ({type(e).__name__}: {e})") from None
    size = path.stat().st_size
    for t in reader.tensors:
        if t.data_offset + t.n_bytes > size:
            raise GGUFError(f"{path}: truncated GGUF (tensor {t.name} ends at byte "
                            f"{t.data_offset + t.n_bytes}, the file has {size})")
    return reader


def field_value(reader: gguf.GGUFReader, key: str, default=None):
    f = reader.fields.get(key)
    return default if f is None else f.contents()


def token_text(reader: gguf.GGUFReader, key: str) -> str | None:
    token_id = field_value(reader, key)
    tokens = reader.fields.get("tokenizer.ggml.tokens")
    if token_id is None or tokens is None or token_id >= len(tokens.data):
        return None
    return tokens.contents(token_id)


def tensor_starts(reader: gguf.GGUFReader) -> list[int]:
    """Byte offsets in the file where tensor data begins, ascending."""
    return sorted({int(t.data_offset) for t in reader.tensors})


def model_facts(reader: gguf.GGUFReader) -> dict:
    """The manifest's model fields; GGUFError when the metadata is missing, mistyped or absurd."""
    try:
        return _model_facts(reader)
    except GGUFError:
        raise
    except (TypeError, ValueError, ArithmeticError, IndexError, KeyError, UnicodeDecodeError) as e:
        # mutated metadata: a string where a number belongs, a zero head count, a bad token id...
        raise GGUFError(f"malformed GGUF metadata ({type(e).__name__}: {e})") from None


def _model_facts(reader: gguf.GGUFReader) -> dict:
    arch = field_value(reader, "general.architecture")
    if not arch:
        raise GGUFError("GGUF has no general.architecture")

    def arch_value(key, default=None):
        return field_value(reader, f"{arch}.{key}", default)

    n_head = arch_value("attention.head_count")
    n_embd = arch_value("embedding_length")
    if n_head is None or n_embd is None or arch_value("block_count") is None:
        raise GGUFError(f"GGUF lacks {arch}.block_count, embedding_length or attention.head_count")
    n_layer = int(arch_value("block_count"))
    n_head = int(np.max(n_head))  # some architectures store one count per layer
    n_head_kv = int(np.max(arch_value("attention.head_count_kv", n_head)))
    head_dim = int(arch_value("attention.key_length", n_embd // n_head))
    tokens = reader.fields.get("tokenizer.ggml.tokens")
    template = field_value(reader, "tokenizer.chat_template")
    return {
        "name": field_value(reader, "general.name", ""),
        "architecture": arch,
        "mode": "chat" if template else "completion",
        "context_length": int(arch_value("context_length", 0)),
        "vocab_size": int(arch_value("vocab_size", len(tokens.data) if tokens else 0)),
        "n_layer": n_layer,
        "n_head_kv": n_head_kv,
        "head_dim": head_dim,
        "kv_bytes_per_token": n_layer * 2 * n_head_kv * head_dim * 2,  # the engine's default f16 cache
        "weights_bytes": int(sum(int(t.n_bytes) for t in reader.tensors)),
        "chat_template": template,
        "bos_token": token_text(reader, "tokenizer.ggml.bos_token_id"),
        "eos_token": token_text(reader, "tokenizer.ggml.eos_token_id"),
    }
