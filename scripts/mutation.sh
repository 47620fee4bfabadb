#!/usr/bin/env bash
# Mutation testing: how many planted mutants the tests kill, per module. Slow (minutes to an hour on
# the shared 2-core machine), so a command, not CI. Results and the reviewed survivors: docs/mutation.md.
#
#   bash scripts/mutation.sh js    Stryker over static/loader.js against static/tests/ (node:test)
#   bash scripts/mutation.sh py    mutmut over server/wasmlm's serving modules against tests/server/
#   bash scripts/mutation.sh all   both
#
# The tools are installed on demand, pinned, into ignored folders: Stryker under tests/mutation/
# (npm), mutmut into .venv. Reports land in tests/mutation/work/.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
WORK="$ROOT/tests/mutation/work"
MUTMUT_VERSION=3.8.1
# The modules mutmut mutates: what the server is for (Range answers the worker's resume, the prompt
# split keeps user text from becoming control tokens, the security headers, file serving, the
# manifest, the catalog and the routers). pack.py, fetch.py and loadtest.py are left out: their tests pack or
# fetch real models (~1 min a run), which every one of their mutants would repeat.
PY_MODULES=(ranges.py prompt.py security.py files.py manifest.py catalog.py routers/chunks.py routers/models.py
            routers/pages.py)

say() { printf '\033[1m== %s\033[0m\n' "$*"; }

js_run() {
  if [ ! -x tests/mutation/node_modules/.bin/stryker ]; then
    say "npm install (Stryker, tests/mutation/)"
    (cd tests/mutation && npm install --no-audit --no-fund)
  fi
  say "Stryker: static/loader.js"
  tests/mutation/node_modules/.bin/stryker run tests/mutation/stryker.config.json
  node -e '
    const r = require(process.argv[1]);
    for (const [file, { mutants }] of Object.entries(r.files)) {
      const n = (s) => mutants.filter((m) => m.status === s).length;
      const killed = n("Killed") + n("Timeout"), survived = n("Survived"), uncovered = n("NoCoverage");
      const score = (100 * killed / (killed + survived + uncovered)).toFixed(1);
      console.log(`${file}: ${score}% (${killed} killed, ${survived} survived, ${uncovered} not covered, ` +
                  `${n("CompileError") + n("RuntimeError")} invalid)`);
    }' "$WORK/stryker.json"
}

py_run() {
  [ -x .venv/bin/python ] || { echo "no .venv: run bash scripts/dev.sh setup first" >&2; exit 1; }
  if [ "$(.venv/bin/python -c 'import importlib.metadata as m; print(m.version("mutmut"))' 2>/dev/null)" \
       != "$MUTMUT_VERSION" ]; then
    say "pip install mutmut==$MUTMUT_VERSION"
    .venv/bin/pip install -q "mutmut==$MUTMUT_VERSION"
  fi
  [ -f chunks/smollm2-135m-instruct-q4_1/manifest.json ] || .venv/bin/wasmlm setup-models
  # mutmut imports the mutated package from mutants/src: a work folder in that layout. The package
  # finds static/, build/ and models/ next to src/ (settings.ROOT), so those are linked there.
  local py="$WORK/py"
  rm -rf "$py"
  mkdir -p "$py/src" "$py/tests" "$py/mutants"
  cp -r server/wasmlm "$py/src/wasmlm"
  cp -r tests/server "$py/tests/server"
  for d in static build models wasm; do ln -s "$ROOT/$d" "$py/mutants/$d"; done
  local only
  only="$(printf '"src/wasmlm/%s", ' "${PY_MODULES[@]}")"
  cat > "$py/pyproject.toml" <<EOF
[tool.mutmut]
source_paths = ["src/wasmlm"]
only_mutate = [${only%, }]
pytest_add_cli_args_test_selection = ["tests/server"]
pytest_add_cli_args = ["-p", "no:cacheprovider"]

[tool.pytest.ini_options]
timeout = 600
EOF
  say "mutmut: server/wasmlm (${PY_MODULES[*]})"
  (cd "$py" && WASMLM_TEST_CHUNKS="$ROOT/chunks" "$ROOT/.venv/bin/mutmut" run --max-children 2) || true
  (cd "$py" && "$ROOT/.venv/bin/mutmut" results --all true) > "$WORK/mutmut.txt"
  .venv/bin/python - "$WORK/mutmut.txt" <<'EOF'
import collections, re, sys
counts = collections.defaultdict(collections.Counter)
for line in open(sys.argv[1]):
    name, _, status = line.strip().rpartition(": ")
    if name:  # wasmlm.files.x__read_span__mutmut_8, wasmlm.security.xǁSecurityHeadersǁ__call__mutmut_3
        counts[re.split(r"\.x[_ǁ]", name)[0]][status] += 1
for module, c in sorted(counts.items()):
    killed = c["killed"] + c["timeout"]
    tested = killed + c["survived"] + c["no tests"]
    print(f"{module}: {100 * killed / max(tested, 1):.1f}% ({killed} killed, {c['survived']} survived, "
          f"{c['no tests']} not covered{', ' + str(dict(c)) if set(c) - {'killed', 'timeout', 'survived', 'no tests'} else ''})")
EOF
}

mkdir -p "$WORK"
case "${1:-all}" in
  js) js_run ;;
  py) py_run ;;
  all) js_run; py_run ;;
  *) echo "usage: bash scripts/mutation.sh js|py|all" >&2; exit 2 ;;
esac
