"""/chunks/: manifests and shards, HEAD, validators, and nothing else under chunks/ reachable."""
import hashlib
import http.client
import json
from urllib.parse import urlsplit

import pytest

MODEL = "smollm2-135m-instruct-q4_1"
SHARD = f"/chunks/{MODEL}/000.bin"


def test_manifest_served_as_packed(http, chunks):
    r = http.get(f"/chunks/{MODEL}/manifest.json")
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/json"
    assert r.json() == json.loads((chunks / MODEL / "manifest.json").read_text())


def test_every_shard_matches_its_manifest_entry(http):
    manifest = http.get(f"/chunks/{MODEL}/manifest.json").json()
    for shard in manifest["shards"][:3] + manifest["shards"][-2:]:
        r = http.get(f"/chunks/{MODEL}/{shard['file']}")
        assert r.status_code == 200
        assert r.headers["content-type"] == "application/octet-stream"
        assert "content-encoding" not in r.headers  # the worker decodes Brotli itself
        assert hashlib.sha256(r.content).hexdigest() == shard["encoded_sha256"]


def test_head_has_the_get_headers_and_no_body(http):
    get, head = http.get(SHARD), http.head(SHARD)
    assert head.status_code == 200 and head.content == b""
    for name in ("content-length", "etag", "accept-ranges", "content-type", "cache-control"):
        assert head.headers[name] == get.headers[name]


def test_etag_is_strong_and_the_content_hash(http):
    manifest = http.get(f"/chunks/{MODEL}/manifest.json").json()
    etag = http.head(SHARD).headers["etag"]
    assert etag == f'"{manifest["shards"][0]["encoded_sha256"][:32]}"' == http.head(SHARD).headers["etag"]
    manifest_etag = http.head(f"/chunks/{MODEL}/manifest.json").headers["etag"]
    assert manifest_etag.startswith('"') and not manifest_etag.startswith("W/")


def test_if_none_match_gives_304(http):
    etag = http.head(SHARD).headers["etag"]
    r = http.get(SHARD, headers={"If-None-Match": etag})
    assert r.status_code == 304 and r.content == b"" and r.headers["etag"] == etag
    assert http.get(SHARD, headers={"If-None-Match": '"other"'}).status_code == 200


@pytest.mark.parametrize("if_range,status", [
    ("{etag}", 206),                          # still the same bytes: the range
    ('"0123456789abcdef"', 200),               # changed: the whole new body
    ("W/{etag}", 200),                        # weak validators never match If-Range
    ("Wed, 21 Oct 2015 07:28:00 GMT", 200),    # dates are not used as validators here
])
def test_if_range(http, if_range, status):
    etag = http.head(SHARD).headers["etag"]
    r = http.get(SHARD, headers={"Range": "bytes=0-99", "If-Range": if_range.format(etag=etag)})
    assert r.status_code == status
    assert len(r.content) == (100 if status == 206 else int(http.head(SHARD).headers["content-length"]))


@pytest.mark.parametrize("path", [
    "/chunks/no-such-model/manifest.json",
    f"/chunks/{MODEL}/999.bin",
    f"/chunks/{MODEL}/.hidden",
    f"/chunks/{MODEL}/",
    "/chunks/UPPER/manifest.json",
    "/chunks/manifest.json",
])
def test_unknown_paths_are_404(http, path):
    r = http.get(path)
    assert r.status_code == 404


def raw_get(base: str, path: str) -> tuple[int, bytes]:
    """GET with the path exactly as written (httpx would normalise dot segments)."""
    url = urlsplit(base)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
    try:
        conn.putrequest("GET", path, skip_accept_encoding=True)
        conn.endheaders()
        r = conn.getresponse()
        return r.status, r.read()
    finally:
        conn.close()


@pytest.mark.parametrize("path", [
    f"/chunks/{MODEL}/../../pyproject.toml",
    f"/chunks/{MODEL}/..%2f..%2fpyproject.toml",
    f"/chunks/{MODEL}/%2e%2e/%2e%2e/pyproject.toml",
    f"/chunks/{MODEL}/%2e%2e%2f%2e%2e%2fpyproject.toml",
    "/chunks/..%2f..%2f/pyproject.toml",
    "/chunks/%2e%2e/manifest.json",
    f"/chunks/{MODEL}/..%5c..%5cpyproject.toml",
    f"/chunks/{MODEL}/%252e%252e%252fpyproject.toml",
    f"/chunks/{MODEL}/000.bin%00.txt",
    "/chunks/../../../../etc/passwd",
    "/static/../pyproject.toml",
    "/static/..%2fpyproject.toml",
    "/static/%2e%2e/pyproject.toml",
    "/static/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    "/static//etc/passwd",
    "/build/wasm/..%2f..%2fpyproject.toml",
    "/build/wasm/%2e%2e/%2e%2e/pyproject.toml",
])
def test_traversal_is_404_and_reveals_no_path(server, chunks, path):
    status, body = raw_get(server, path)
    assert status in (404, 400)
    assert b"pyproject" not in body and b"root:" not in body
    assert str(chunks).encode() not in body and b"/work" not in body and b"/tmp" not in body


# ---- checks that mutation testing showed missing (docs/mutation.md)

def test_a_range_longer_than_one_read_is_sent_exactly(http, chunks):
    """The server reads 256 KiB at a time: a range across several reads ends where it was asked to."""
    data = (chunks / MODEL / "001.bin").read_bytes()   # a whole shard of weights, ~4 MiB
    assert len(data) > 700_000
    r = http.get(f"/chunks/{MODEL}/001.bin", headers={"Range": "bytes=100-600099"})
    assert r.status_code == 206 and r.headers["content-length"] == "600000"
    assert r.content == data[100:600100]


def test_if_none_match_lists_and_star(http):
    etag = http.head(SHARD).headers["etag"]
    assert http.get(SHARD, headers={"If-None-Match": f'"other", {etag}'}).status_code == 304
    assert http.get(SHARD, headers={"If-None-Match": "*"}).status_code == 304


def test_a_file_gone_since_the_manifest_was_read_is_404(tmp_path):
    from fastapi import HTTPException
    from starlette.requests import Request

    from wasmlm.files import file_response

    request = Request({"type": "http", "method": "GET", "headers": [], "path": "/", "query_string": b""})
    with pytest.raises(HTTPException) as e:
        file_response(request, tmp_path / "gone.bin", "application/octet-stream", "no-cache", sha256="0" * 64)
    assert (e.value.status_code, e.value.detail) == (404, "not found")
