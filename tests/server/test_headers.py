"""Every response, whatever the route or status, carries the isolation and security headers."""
import pytest

MODEL = "smollm2-135m-instruct-q4_1"

REQUIRED = {
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-embedder-policy": "require-corp",
    "cross-origin-resource-policy": "same-origin",
    "x-content-type-options": "nosniff",
}

ROUTES = [
    ("GET", "/", {}, None),
    ("GET", "/healthz", {}, None),
    ("GET", "/static/chat.js", {}, None),
    ("HEAD", "/static/chat.js", {}, None),
    ("GET", "/static/nope.js", {}, None),
    ("GET", "/build/wasm/wasmlm-simd.wasm", {}, None),
    ("GET", "/build/wasm/wasmlm-simd.0000000000000000.wasm", {}, None),
    ("GET", "/api/models", {}, None),
    ("GET", f"/api/models/{MODEL}", {}, None),
    ("GET", "/api/models/nope", {}, None),
    ("GET", "/api/engine", {}, None),
    ("POST", f"/api/models/{MODEL}/prompt", {}, {"messages": [{"role": "user", "content": "hi"}]}),
    ("GET", "/sw.js", {}, None),
    ("GET", "/vendor/jinja/index.js", {}, None),
    ("GET", "/vendor/nope/index.js", {}, None),
    ("GET", f"/chunks/{MODEL}/manifest.json", {}, None),
    ("HEAD", f"/chunks/{MODEL}/000.bin", {}, None),
    ("GET", f"/chunks/{MODEL}/000.bin", {"Range": "bytes=0-9"}, None),
    ("GET", f"/chunks/{MODEL}/000.bin", {"Range": "bytes=999999999-"}, None),
    ("GET", "/chunks/nope/manifest.json", {}, None),
    ("DELETE", f"/chunks/{MODEL}/000.bin", {}, None),
    ("GET", "/no/such/route", {}, None),
    ("GET", "/metrics", {}, None),
    ("POST", "/api/telemetry", {"X-Forwarded-For": "192.0.2.1"}, {"not": "a report"}),
]


@pytest.mark.parametrize("method,path,headers,body", ROUTES)
def test_security_headers(http, method, path, headers, body):
    r = http.request(method, path, headers=headers, json=body)
    for name, value in REQUIRED.items():
        assert r.headers.get(name) == value, f"{name} on {method} {path} ({r.status_code})"
    csp = r.headers["content-security-policy"]
    assert "'wasm-unsafe-eval'" in csp
    assert "'unsafe-inline'" not in csp and "'unsafe-eval'" not in csp.replace("'wasm-unsafe-eval'", "")


def test_page_has_no_inline_script(http):
    html = http.get("/").text
    assert '<script type="module" src="/static/chat.js"></script>' in html
    assert "<script>" not in html and " on" + "click=" not in html


def test_wasm_media_type_and_hashed_names(http, engine_dir):
    urls = http.get("/api/engine").json()
    assert set(urls) == {"wasmlm-simd.wasm", "wasmlm-simd.js"}
    wasm = http.get(urls["wasmlm-simd.wasm"])
    assert wasm.status_code == 200
    assert wasm.headers["content-type"] == "application/wasm"
    assert "immutable" in wasm.headers["cache-control"]
    assert wasm.content == (engine_dir / "wasmlm-simd.wasm").read_bytes()
    plain = http.get("/build/wasm/wasmlm-simd.wasm")
    assert plain.headers["cache-control"] == "no-cache" and plain.content == wasm.content
    assert http.get(urls["wasmlm-simd.js"]).headers["content-type"].startswith("text/javascript")


def test_stale_hash_is_404(http):
    assert http.get("/build/wasm/wasmlm-simd.0000000000000000.wasm").status_code == 404


def test_models_list_smollm2_first(http):
    models = http.get("/api/models").json()
    assert [m["id"] for m in models] == ["smollm2-135m-instruct-q4_1", "gemma-3-270m-q4_k_m"]
    assert models[0]["mode"] == "chat" and models[1]["mode"] == "completion"
    assert models[0]["manifest"] == f"/chunks/{MODEL}/manifest.json"
