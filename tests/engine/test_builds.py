"""The wasm builds themselves: each loads under Node.js through static/engine.js, streams Brotli
and hashes exactly as Python's brotli and hashlib do on a real shard, the scalar build holds no
SIMD instruction, the threaded build splits work without changing a single logit, and the
relaxed-SIMD builds give the logits of the simd build to the last bit in every tier of V8 (and
only they hold relaxed instructions; a corrupt one fails the build), under Node.js and in a module
Worker of Chromium (cross-origin isolated, as the server makes the page).

Throughputs (Brotli decode, SHA-256, threads) are printed (`pytest -s`), never asserted.
"""

import functools
import hashlib
import http.server
import json
import shutil
import subprocess
import threading

import brotli
import pytest
from wasmlm.engine_cli import engine_command

from conftest import NATIVE_CLI, ROOT, make, model_path, node_cli, run_cli

WASM = ROOT / "build" / "wasm"
ENGINE_JS = ROOT / "static" / "engine.js"
BUILDS = ["simd", "mt", "scalar", "debug", "relaxed", "relaxed-mt"]
NPM_BIN = ROOT / "node_modules" / ".bin"
SHARD = 4 << 20
CHUNK = 64 << 10  # what a network read typically hands the worker

# Runs in Node: loads one build, then for every file named in the job pushes it through
# wl_brotli_* in CHUNK pieces and hashes the decoded bytes and the file with wl_sha256_*.
# Prints one JSON object.
NODE_JOB = """
import { readFileSync } from "node:fs";
import { loadEngine } from "%(engine)s";
const job = JSON.parse(process.argv[1]);
const e = await loadEngine({ build: job.build, threads: 2 });
const out = { build: job.build, shards: [] };
for (const s of job.shards) {
  const enc = readFileSync(s.file);
  const dst = e.malloc(s.cap), src = e.malloc(enc.length);
  e.heap().set(enc, src);
  const t0 = performance.now();
  const dec = e.brotli(dst, s.cap);
  let last = 0;
  for (let at = 0; at < enc.length && last === 0; at += job.chunk) last = dec.push(enc.subarray(at, at + job.chunk));
  const decodeMs = performance.now() - t0;
  const written = dec.written();
  const error = last < 0 ? dec.error() : null;
  dec.free();
  const t1 = performance.now();
  const sha = e.sha256(dst, written);
  const shaMs = performance.now() - t1;
  out.shards.push({ written, last, error, sha, shaMs, decodeMs, encodedSha: e.sha256(src, enc.length) });
  e.free(dst); e.free(src);
}
console.log(JSON.stringify(out));
process.exit(0);
"""


def node_job(build: str, shards: list[dict]) -> dict:
    script = NODE_JOB % {"engine": ENGINE_JS.as_uri()}
    job = json.dumps({"build": build, "chunk": CHUNK, "shards": shards})
    result = subprocess.run(["node", "--input-type=module", "-e", script, job], capture_output=True, text=True,
                            cwd=ROOT, timeout=300)
    assert result.returncode == 0, f"node failed on the {build} build:\n{result.stderr[-3000:]}"
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def builds():
    make("wasm")
    return BUILDS


@pytest.fixture(scope="module")
def shard(tmp_path_factory):
    """4 MiB of SmolLM2's weights (the size of a packed shard), Brotli quality 9, and its digests."""
    with open(model_path("smollm2"), "rb") as f:
        f.seek(16 << 20)
        data = f.read(SHARD)
    encoded = brotli.compress(data, quality=9)
    path = tmp_path_factory.mktemp("shard") / "000.bin"
    path.write_bytes(encoded)
    return {"path": path, "data": data, "encoded": encoded}


@pytest.mark.parametrize("build", BUILDS)
def test_build_streams_a_shard_like_python(builds, shard, build):
    out = node_job(build, [{"file": str(shard["path"]), "cap": SHARD}])
    s = out["shards"][0]
    assert (s["last"], s["error"]) == (1, None)
    assert s["written"] == SHARD
    assert s["sha"] == hashlib.sha256(shard["data"]).hexdigest()
    assert s["encodedSha"] == hashlib.sha256(shard["encoded"]).hexdigest()
    print(f"\n{build}, first shard (cold JIT): Brotli decode {SHARD / 1e6 / (s['decodeMs'] / 1e3):.0f} MB/s of output "
          f"({len(shard['encoded']) / SHARD:.2f} ratio), SHA-256 {SHARD / 1e6 / (s['shaMs'] / 1e3):.0f} MB/s")


def test_bad_streams_fail_with_the_brotli_status(builds, shard, tmp_path):
    encoded = shard["encoded"]
    flipped = bytearray(encoded)
    flipped[len(flipped) // 2] ^= 0xFF
    cases = {
        "flipped": (bytes(flipped), SHARD),
        "truncated": (encoded[: len(encoded) // 2], SHARD),
        "trailing": (encoded + b"\0", SHARD),
        "too_small": (encoded, SHARD - 1),
    }
    jobs = []
    for name, (data, cap) in cases.items():
        (tmp_path / name).write_bytes(data)
        jobs.append({"file": str(tmp_path / name), "cap": cap})
    got = dict(zip(cases, node_job("simd", jobs)["shards"]))

    # A flipped byte either breaks the stream or changes what it decodes to; never both fine.
    flipped_result = got["flipped"]
    assert flipped_result["last"] == -12 or flipped_result["sha"] != hashlib.sha256(shard["data"]).hexdigest()
    assert got["truncated"]["last"] == 0  # still waiting for input: the worker reports "ended early"
    assert got["trailing"]["last"] == -12 and "after the end" in got["trailing"]["error"]
    assert got["too_small"]["last"] == -12 and "larger than the destination" in got["too_small"]["error"]


def wasm_validates_without_simd(path) -> subprocess.CompletedProcess:
    """Binaryen's validator with every feature on but SIMD: a single SIMD instruction fails it."""
    return subprocess.run(["wasm-opt", "--all-features", "--disable-simd", str(path), "-o", "/dev/null"],
                          capture_output=True, text=True)


def test_scalar_build_has_no_simd_instruction(builds):
    if not shutil.which("wasm-opt"):
        pytest.fail("wasm-opt is missing: apt-get install binaryen (it comes with Debian's emscripten)")
    scalar = wasm_validates_without_simd(WASM / "wasmlm-scalar.wasm")
    assert scalar.returncode == 0, scalar.stderr[-2000:]
    # The same check rejects the SIMD build, so it does see SIMD instructions.
    simd = wasm_validates_without_simd(WASM / "wasmlm-simd.wasm")
    assert simd.returncode != 0 and "SIMD" in simd.stderr


def test_threads_change_no_logit(builds):
    """Threads split matrix rows, each row computed as alone: the logits are bit-identical."""
    model = model_path("smollm2")
    ids = json.dumps([1, 504, 3458, 314, 253, 2476, 28, 1041, 5489, 30])
    outputs = {}
    for build, threads in [("simd", 1), ("mt", 1), ("mt", 2)]:
        result = run_cli(node_cli(build), "logits", model, "--ids", ids, "--top", 10, "--threads", threads)
        assert result.returncode == 0, result.stderr
        outputs[(build, threads)] = result.stdout
    info = run_cli(node_cli("mt"), "info", model, "--threads", 2)
    assert json.loads(info.stdout)["threads"] == 2, "the mt build did not start its second thread"
    assert outputs[("mt", 2)] == outputs[("mt", 1)] == outputs[("simd", 1)]


def test_q8_0_kv_cache_gives_the_same_logits_in_every_build(builds):
    """The q8_0 KV cache is written by scalar code and read exactly (an fp16 scale times an int8): every
    build, threaded or not, relaxed or not, gives the same logits with it, which are not the f16 cache's."""
    model = model_path("smollm2")
    outputs = {}
    for build, threads in [("simd", 1), ("scalar", 1), ("mt", 2), ("relaxed", 1), ("relaxed-mt", 2)]:
        result = run_cli(node_cli(build), "logits", model, "--ids", LOGIT_IDS, "--top", 10, "--threads", threads,
                         "--cache-type", "q8_0")
        assert result.returncode == 0, f"{build}: {result.stderr[-2000:]}"
        outputs[(build, threads)] = result.stdout
    differing = [key for key, out in outputs.items() if out != outputs[("simd", 1)]]
    assert not differing, f"q8_0 cache logits differ from the simd build's: {differing}"
    f16 = run_cli(node_cli("simd"), "logits", model, "--ids", LOGIT_IDS, "--top", 10)
    assert f16.returncode == 0 and f16.stdout != outputs[("simd", 1)], "--cache-type q8_0 changed nothing"
    bad = run_cli(node_cli("simd"), "info", model, "--cache-type", "q4_0")
    assert bad.returncode == 2 and "--cache-type must be f16 or q8_0, got 'q4_0'" in bad.stderr


# ---- the relaxed-SIMD builds (wasm/relaxed.mk)

# Teacher-forced ids long enough for prompt tiles (8 and 4 tokens) and decode tiles (1 token).
LOGIT_IDS = json.dumps([1, 504, 3458, 314, 253, 2476, 28, 1041, 5489, 30, 1, 504, 3458, 314, 253, 2476, 28])
# V8's tiers: its baseline compiler (Liftoff) once computed a relaxed dot wrongly (toolchain.md).
NODE_TIERS = {"default": [], "liftoff-only": ["--liftoff-only"], "no-liftoff": ["--no-liftoff"]}
# The quantized formats test_kernels --digests prints, in its order (wasm/tests/test_kernels.cpp k_types).
QUANTIZED_FORMATS = ["Q4_0", "Q4_1", "Q5_0", "Q8_0", "Q4_K", "Q6_K", "Q5_1", "IQ4_NL", "Q2_K", "Q3_K", "Q5_K", "IQ4_XS"]


@pytest.mark.parametrize("model", ["smollm2", "gemma3"])
def test_relaxed_builds_give_the_simd_logits_in_every_tier(builds, model):
    """SmolLM2 runs Q4_1 and Q8_0 kernels, Gemma 3 Q5_0, Q4_K, Q6_K and Q8_0: all relaxed ones."""
    path = model_path(model)
    runs = {("simd", "default", 1): node_cli("simd")}
    runs.update({("relaxed", tier, 1): node_cli("relaxed", "--experimental-wasm-relaxed-simd", *flags)
                 for tier, flags in NODE_TIERS.items()})
    runs[("relaxed-mt", "default", 2)] = node_cli("relaxed-mt")  # without the flag: the build turns it on itself
    outputs = {}
    for (build, tier, threads), command in runs.items():
        result = run_cli(command, "logits", path, "--ids", LOGIT_IDS, "--top", 20, "--threads", threads)
        assert result.returncode == 0, f"{build} ({tier}): {result.stderr[-2000:]}"
        outputs[(build, tier, threads)] = result.stdout
    want = outputs[("simd", "default", 1)]
    differing = [key for key, out in outputs.items() if out != want]
    assert not differing, f"logits differ from the simd build's: {differing}"


def test_every_quantized_kernel_gives_the_same_floats_in_every_build():
    """test_kernels --digests: a digest of each of the 12 quantized formats' matmul outputs (decode and
    prompt tiles, the formats neither model uses too), natively, on the simd and scalar builds and on
    the relaxed one in V8's three tiers. The kernel checks themselves run in `make -C wasm test(-relaxed)`."""
    tests = ROOT / "build" / "wasm-tests"
    binaries = {"native": ROOT / "build" / "native" / "tests" / "test_kernels",
                "simd": tests / "test_kernels.js", "scalar": tests / "scalar" / "test_kernels.js",
                "relaxed": tests / "relaxed" / "test_kernels.js"}
    make(*map(str, binaries.values()))
    runs = {"native": [str(binaries["native"])], "simd": ["node", str(binaries["simd"])],
            "scalar": ["node", str(binaries["scalar"])]}
    runs.update({f"relaxed {tier}": ["node", "--experimental-wasm-relaxed-simd", *flags, str(binaries["relaxed"])]
                 for tier, flags in NODE_TIERS.items()})
    digests = {}
    for name, command in runs.items():
        result = run_cli(command, "--digests")
        assert result.returncode == 0, f"{name}: {result.stderr[-2000:]}"
        lines = result.stdout.splitlines()
        kernels = {"native": "avx2", "simd": "simd128", "scalar": "scalar"}.get(name, "relaxed-simd")
        assert lines[0] == "kernels " + kernels or name == "native", (name, lines[0])
        digests[name] = [line for line in lines if line.startswith("digest ")]
    assert [line.split()[1] for line in digests["simd"]] == QUANTIZED_FORMATS, digests["simd"]
    differing = {name: d for name, d in digests.items() if d != digests["simd"]}
    assert not differing, f"kernel floats differ from the simd build's: {differing} vs {digests['simd']}"


def test_node_runtime_runs_the_relaxed_build_by_default(builds):
    result = run_cli(engine_command("node"), "info", model_path("smollm2"))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["simd"] == "relaxed-simd"


# Runs in Node: static/engine.js (the page's engine API) loads one build, reads the GGUF into
# ggufAlloc's region and evaluates the ids; prints the sha256 of all their logits (float32 bytes).
ENGINE_LOGITS_JOB = """
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { loadEngine } from "%(engine)s";
const job = JSON.parse(process.argv[1]);
const e = await loadEngine({ build: job.build, threads: job.threads });
const bytes = readFileSync(job.model);
const ptr = e.ggufAlloc(bytes.length);
e.heap().set(bytes, ptr);
e.create(ptr, bytes.length, { threads: job.threads });
const logits = e.eval(Int32Array.from(job.ids), { allLogits: true });
console.log(createHash("sha256").update(new Uint8Array(logits.buffer, logits.byteOffset, logits.byteLength)).digest("hex"));
process.exit(0);
"""


@pytest.mark.parametrize("build, threads", [("simd", 1), ("mt", 2), ("relaxed", 1)])
def test_engine_js_gives_the_cli_logits(builds, tmp_path, build, threads):
    """static/engine.js, the page's engine API, against the native CLI (`layers --logits`): the same
    logits to the last bit, so what the CLI's builds-agree tests show holds for the page's engine."""
    model, ids = model_path("smollm2"), json.loads(LOGIT_IDS)
    script = ENGINE_LOGITS_JOB % {"engine": ENGINE_JS.as_uri()}
    job = json.dumps({"build": build, "threads": threads, "model": str(model), "ids": ids})
    result = subprocess.run(["node", "--input-type=module", "-e", script, job], capture_output=True, text=True,
                            cwd=ROOT, timeout=300)
    assert result.returncode == 0, f"engine.js on {build}: {result.stderr[-3000:]}"
    make("native")
    native = run_cli([str(NATIVE_CLI)], "layers", model, "--ids", LOGIT_IDS, "--logits", tmp_path / "logits.f32")
    assert native.returncode == 0, native.stderr[-2000:]
    want = hashlib.sha256((tmp_path / "logits.f32").read_bytes()).hexdigest()
    assert result.stdout.strip() == want, f"engine.js on {build} gives other logits than the native CLI"


def wasm_validates(path, *features) -> bool:
    result = subprocess.run([str(NPM_BIN / "wasm-validate"), "--enable-threads", *features, str(path)],
                            capture_output=True, text=True)
    return result.returncode == 0


def test_only_the_relaxed_builds_hold_relaxed_instructions(builds):
    """A browser without relaxed SIMD (WebKit) rejects a whole module with one such instruction."""
    for build in ["simd", "mt", "scalar"]:
        assert wasm_validates(WASM / f"wasmlm-{build}.wasm"), build
    for build in ["relaxed", "relaxed-mt"]:
        assert wasm_validates(WASM / f"wasmlm-{build}.wasm", "--enable-relaxed-simd"), build
        assert not wasm_validates(WASM / f"wasmlm-{build}.wasm"), f"{build} has no relaxed instruction"


def test_a_corrupt_relaxed_module_fails_the_build(builds, tmp_path):
    """The build's last step (make relaxed-check) passes the real module and deletes a broken one:
    here the first relaxed dot's opcode (0xfd 0x112) turned into one that does not exist."""
    good, bad = tmp_path / "good.wasm", tmp_path / "bad.wasm"
    data = bytearray((WASM / "wasmlm-relaxed.wasm").read_bytes())
    good.write_bytes(data)
    at = data.find(bytes([0xFD, 0x92, 0x02]))
    assert at > 0, "no i16x8.relaxed_dot_i8x16_i7x16_s in the relaxed build"
    data[at + 1] = 0x94
    bad.write_bytes(data)
    check = ["make", "-s", "-C", str(ROOT / "wasm"), "relaxed-check"]
    ok = subprocess.run([*check, f"WASM_FILE={good}"], capture_output=True, text=True)
    assert ok.returncode == 0 and good.exists(), ok.stderr[-2000:]
    failed = subprocess.run([*check, f"WASM_FILE={bad}"], capture_output=True, text=True)
    assert failed.returncode != 0 and "not a valid relaxed-SIMD module" in failed.stderr
    assert not bad.exists(), "the broken module was left in place"


# ---- in Chromium: the builds from a module Worker, as static/worker.js runs them

PAGE = """<!doctype html><meta charset="utf-8"><script type="module">
const worker = new Worker("/probe_worker.js", { type: "module" });
worker.onmessage = ({ data }) => { window.probe = data; };
worker.onerror = (e) => { window.probe = { error: e.message || "the worker failed to start" }; };
worker.postMessage(Object.fromEntries(new URLSearchParams(location.search)));
</script>"""

# Loads SmolLM2 into one build, evaluates a few ids, reports the threads and the top logit.
PROBE_WORKER = """import { loadEngine } from "/static/engine.js";
onmessage = async ({ data }) => {
  try {
    const threads = Number(data.threads);
    const e = await loadEngine({ build: data.build, threads,
      jsUrl: new URL(`/build/wasm/wasmlm-${data.build}.js`, location.href).href });
    const gguf = new Uint8Array(await (await fetch("/model.gguf")).arrayBuffer());
    const ptr = e.malloc(gguf.length);
    e.heap().set(gguf, ptr);
    e.create(ptr, gguf.length, { nCtx: 64, threads });
    const logits = e.eval(Int32Array.from(JSON.parse(data.ids)));
    let top = 0;
    for (let i = 1; i < logits.length; i++) if (logits[i] > logits[top]) top = i;
    postMessage({ isolated: self.crossOriginIsolated, threads: e.info().threads, top, logit: logits[top] });
  } catch (err) {
    postMessage({ error: String(err && err.stack || err) });
  }
};
"""


class IsolatedHandler(http.server.SimpleHTTPRequestHandler):
    """Serves with the headers that make a page cross-origin isolated (SharedArrayBuffer)."""
    extensions_map = {".html": "text/html", ".js": "text/javascript", ".wasm": "application/wasm",
                      ".gguf": "application/octet-stream"}

    def end_headers(self):
        self.send_header("Cross-Origin-Opener-Policy", "same-origin")
        self.send_header("Cross-Origin-Embedder-Policy", "require-corp")
        super().end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def probe_site(builds, tmp_path_factory):
    site = tmp_path_factory.mktemp("site")
    (site / "index.html").write_text(PAGE)
    (site / "probe_worker.js").write_text(PROBE_WORKER)
    (site / "static").symlink_to(ROOT / "static")
    (site / "build").symlink_to(ROOT / "build")
    (site / "model.gguf").symlink_to(model_path("smollm2"))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(IsolatedHandler, directory=site))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


@pytest.fixture(scope="module")
def chromium():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=shutil.which("chromium") or "/usr/bin/chromium", headless=True,
                                    args=["--no-sandbox"])
        yield browser
        browser.close()


def test_builds_run_in_a_chromium_module_worker(probe_site, chromium):
    ids = json.dumps([1, 504, 3458, 314, 253, 2476, 28, 1041, 5489, 30])
    results = {}
    for build, threads in [("simd", 1), ("scalar", 1), ("mt", 2), ("relaxed", 1), ("relaxed-mt", 2)]:
        page = chromium.new_page()
        page.goto(f"{probe_site}/index.html?build={build}&threads={threads}&ids={ids}")
        page.wait_for_function("window.probe !== undefined", timeout=120_000)
        results[build] = page.evaluate("window.probe")
        page.close()
        assert "error" not in results[build], f"{build}: {results[build]['error']}"
    assert results["mt"]["isolated"] and results["mt"]["threads"] == 2
    assert results["mt"]["top"] == results["simd"]["top"] == results["scalar"]["top"]
    # Every build sums in the same order without FMA (ops.cpp, quants_tile.h): bit-identical logits.
    assert results["mt"]["logit"] == results["simd"]["logit"] == results["scalar"]["logit"]
    assert results["relaxed-mt"]["isolated"] and results["relaxed-mt"]["threads"] == 2
    for build in ["relaxed", "relaxed-mt"]:
        assert (results[build]["top"], results[build]["logit"]) == (results["simd"]["top"], results["simd"]["logit"])
