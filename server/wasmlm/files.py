"""Streams a file, whole or one byte range, with a strong ETag, honouring HEAD, If-Range and If-None-Match."""
import os
from pathlib import Path

import anyio
from fastapi import HTTPException
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from .filehash import file_sha256
from .ranges import Unsatisfiable, range_parse

CHUNK = 256 * 1024


async def _read_span(path: Path, start: int, length: int):
    async with await anyio.open_file(path, "rb") as f:
        await f.seek(start)
        while length > 0:
            block = await f.read(min(CHUNK, length))
            if not block:
                return
            length -= len(block)
            yield block


def _etag_matches(header: str | None, etag: str) -> bool:
    return header is not None and any(t.strip() in (etag, "*") for t in header.split(","))


def file_response(request: Request, path: Path, media_type: str, cache_control: str,
                  sha256: str | None = None) -> Response:
    """sha256: the file's digest when the caller knows it (shards: from the manifest), else computed once."""
    try:
        st = os.stat(path)
    except FileNotFoundError:  # replaced between the manifest check and now (a re-pack)
        raise HTTPException(404, "not found") from None
    size = st.st_size
    etag = f'"{(sha256 or file_sha256(path, st))[:32]}"'
    headers = {"ETag": etag, "Accept-Ranges": "bytes", "Cache-Control": cache_control}
    if _etag_matches(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers=headers)

    if_range = request.headers.get("if-range")
    range_header = request.headers.get("range") if if_range in (None, etag) else None
    try:
        span = range_parse(range_header, size)
    except Unsatisfiable:
        return Response(status_code=416, headers={**headers, "Content-Range": f"bytes */{size}"})

    start, length, status = 0, size, 200
    if span is not None:
        start, length, status = span.start, span.length, 206
        headers["Content-Range"] = span.content_range(size)
    headers["Content-Length"] = str(length)
    if request.method == "HEAD":
        return Response(status_code=status, headers=headers, media_type=media_type)
    return StreamingResponse(_read_span(path, start, length), status_code=status, headers=headers,
                             media_type=media_type)
