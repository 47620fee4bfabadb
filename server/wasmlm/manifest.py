"""chunks/<id>/manifest.json as a type: what `wasmlm pack` writes, the catalog serves from and the routers
read (docs/contracts.md, "Manifest"). Fields this module does not name (the chat template, the template
probes, whatever a later packer adds) are kept as they are: the model is tolerant of extra fields.

A manifest is checked before anything in it is used: a shard name that is not a plain file name of its own
folder ("../x", "a/b", ".hidden", "manifest.json"), a negative or non-integer size or offset, shards listed
twice or out of order, or sizes that do not add up to the GGUF's make it invalid (ManifestError, saying
which field is wrong). The server never trusts what it serves from.
"""
import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

MODEL_ID = re.compile(r"^[a-z0-9][a-z0-9._-]{0,127}$")
SHARD_FILE = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}\.bin$"   # Rust regex: "$" is the very end, no newline before it
SHA256 = r"^[0-9a-f]{64}$"
Count = Annotated[int, Field(ge=0)]   # a non-negative JSON integer (strict: true/false and 1.0 are not)


class ManifestError(ValueError):
    """The manifest is not one the server will serve from; the message says which field is wrong."""


class ManifestPart(BaseModel):
    """Strict JSON types; fields not named here are kept as they are."""
    model_config = ConfigDict(strict=True, extra="allow")


class Shard(ManifestPart):
    index: Count
    file: str = Field(pattern=SHARD_FILE)
    offset: Count
    size: Count
    encoding: Literal["br", "identity"]
    encoded_size: Count
    sha256: str = Field(pattern=SHA256)
    encoded_sha256: str = Field(pattern=SHA256)


class GgufSource(ManifestPart):
    size: Count
    sha256: str = Field(pattern=SHA256)
    file: str = ""


class Manifest(ManifestPart):
    format: Literal[1]
    id: str
    name: str
    architecture: str
    mode: str
    context_length: Count
    vocab_size: Count
    n_layer: Count
    n_head_kv: Count
    head_dim: Count
    kv_bytes_per_token: Count
    weights_bytes: Count
    gguf: GgufSource
    shards: list[Shard] = Field(min_length=1)

    def shard_find(self, name: str) -> Shard | None:
        """The entry for a shard file name, or None: only listed shards are served."""
        return next((s for s in self.shards if s.file == name), None)

    def download_bytes(self) -> int:
        return sum(s.encoded_size for s in self.shards)

    def as_dict(self) -> dict:
        """The JSON object as written, extra fields included (for the prompt renderer and the CLI)."""
        return self.model_dump(mode="json")


def shards_check(manifest: Manifest) -> None:
    """What a field's type cannot say: the shards are listed once each, in order, tiling the whole GGUF."""
    offset, seen = 0, set()
    for index, shard in enumerate(manifest.shards):
        where = f"shards[{index}]"
        if shard.file in seen:
            raise ManifestError(f"{where}.file {shard.file!r} is listed twice")
        seen.add(shard.file)
        if shard.index != index:
            raise ManifestError(f"{where}.index is {shard.index!r}, expected {index}")
        if shard.offset != offset:
            raise ManifestError(f"{where}.offset is {shard.offset}, expected {offset} (shards tile the file in order)")
        offset += shard.size
    if offset != manifest.gguf.size:
        raise ManifestError(f"the shards add up to {offset} bytes, gguf.size says {manifest.gguf.size}")


def manifest_parse(data, model_id: str) -> Manifest:
    """The manifest of chunks/<model_id>/ from its JSON value; ManifestError unless it is well-formed."""
    try:
        manifest = Manifest.model_validate(data)
    except ValidationError as e:
        error = e.errors()[0]
        where = ".".join(map(str, error["loc"])) or "the manifest"
        raise ManifestError(f"{where}: {error['msg']}") from None
    if manifest.id != model_id:
        raise ManifestError(f"id {manifest.id!r} is not its folder's name {model_id!r}")
    shards_check(manifest)
    return manifest
