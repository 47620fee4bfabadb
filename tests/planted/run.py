"""Planted bugs: proves that the tests fail when the code is wrong.

    python3 tests/planted/run.py [--short] [--only ID ...] [--clean] [--keep]

Each entry of tests/planted/bugs.json is a source patch. They are applied one at a time to a scratch
copy of the repository (build/planted/: the tracked files as they are in the work tree, the build
folder copied so that only what a patch touches is rebuilt, models/ and chunks/ linked), the entry's
test command runs there, and the bug counts as caught when that command fails with output matching
`expect` (so a test that breaks for another reason, say a compile error, is not taken for a catch).
The patched file is restored before the next entry. The work tree's own files are never written.

--short runs the entries marked short (CI: scripts/dev.sh test); --clean first runs every selected
test on the unpatched copy, which must pass. Prints one line per bug and "N passed, M failed" last,
where passed means caught; exits 1 when a bug went uncaught.
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BUGS = Path(__file__).resolve().parent / "bugs.json"
SCRATCH = ROOT / "build" / "planted"
LINKED = ["models", "chunks", "node_modules", ".venv"]          # large or installed: shared, never written
COPIED = ["build/native", "build/wasm", "build/wasm-tests", "wasm/third_party"]  # generated, kept incremental
TIMEOUT_S = 1800


def scratch_make() -> Path:
    """A fresh copy of the work tree under build/planted/ (tracked files, builds, links to the rest)."""
    if SCRATCH.exists():
        shutil.rmtree(SCRATCH)
    SCRATCH.mkdir(parents=True)
    tracked = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                             capture_output=True, check=True).stdout.decode().split("\0")
    for rel in filter(None, tracked):
        src = ROOT / rel
        if not src.is_file() or rel.startswith("build/"):
            continue
        dst = SCRATCH / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, dst)  # keeps mtimes: the copied objects stay newer than their sources
    for rel in COPIED:
        if (ROOT / rel).is_dir():
            shutil.copytree(ROOT / rel, SCRATCH / rel, symlinks=True, dirs_exist_ok=True)
    for rel in LINKED:
        if (ROOT / rel).exists():
            (SCRATCH / rel).symlink_to(ROOT / rel)
    # make's dependency files name the work tree's objects: point them at the copy's
    for dep in (SCRATCH / "build").rglob("*.d"):
        dep.write_text(dep.read_text().replace(str(ROOT), str(SCRATCH)))
    return SCRATCH


def command_run(bug: dict, root: Path) -> subprocess.CompletedProcess:
    python = ROOT / ".venv" / "bin" / "python"
    command = bug["test"].format(root=root, python=python if python.exists() else sys.executable)
    return subprocess.run(["bash", "-c", command], cwd=root, capture_output=True, text=True, timeout=TIMEOUT_S)


def patch_apply(bug: dict, root: Path) -> str:
    """Applies the patch; returns the file's original text."""
    path = root / bug["file"]
    original = path.read_text()
    count = original.count(bug["find"])
    if count != 1:
        raise SystemExit(f"{bug['id']}: `find` occurs {count} times in {bug['file']} (must be once): update bugs.json")
    path.write_text(original.replace(bug["find"], bug["replace"]))
    return original


def file_restore(bug: dict, root: Path, original: str) -> None:
    path = root / bug["file"]
    path.write_text(original)
    now = time.time()
    os.utime(path, (now, now))  # newer than the patched objects: the next build compiles it again


def tail(text: str, n: int = 6) -> str:
    return "\n".join("      " + line for line in text.strip().splitlines()[-n:])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--short", action="store_true", help="only the entries marked short (CI)")
    parser.add_argument("--only", nargs="+", metavar="ID", help="only these entries")
    parser.add_argument("--clean", action="store_true", help="first check that every selected test passes unpatched")
    parser.add_argument("--keep", action="store_true", help="leave build/planted/ in place afterwards")
    args = parser.parse_args()

    bugs = json.loads(BUGS.read_text())["bugs"]
    if args.short:
        bugs = [b for b in bugs if b.get("short")]
    if args.only:
        unknown = set(args.only) - {b["id"] for b in bugs}
        if unknown:
            raise SystemExit(f"unknown bug ids: {', '.join(sorted(unknown))}")
        bugs = [b for b in bugs if b["id"] in args.only]

    t0 = time.time()
    root = scratch_make()
    print(f"planted bugs: {len(bugs)}, scratch copy {root.relative_to(ROOT)} ({time.time() - t0:.0f} s)", flush=True)
    if args.clean:
        for test in dict.fromkeys(b["test"] for b in bugs):
            result = command_run({"test": test}, root)
            if result.returncode != 0:
                print(f"the unpatched copy fails `{test}`:\n{tail(result.stdout + result.stderr, 20)}")
                return 1
        print("unpatched: every selected test passes", flush=True)

    caught = missed = 0
    for bug in bugs:
        t = time.time()
        original = patch_apply(bug, root)
        try:
            result = command_run(bug, root)
        finally:
            file_restore(bug, root, original)
        output = result.stdout + result.stderr
        if result.returncode != 0 and re.search(bug["expect"], output):
            caught += 1
            print(f"caught   {bug['id']}: {bug['what']} -> fails {bug['named']} ({time.time() - t:.0f} s)", flush=True)
        else:
            missed += 1
            why = "passed" if result.returncode == 0 else f"failed (exit {result.returncode}) without /{bug['expect']}/"
            print(f"MISSED   {bug['id']}: {bug['what']} -> {bug['named']} {why} ({time.time() - t:.0f} s)\n"
                  f"{tail(output)}", flush=True)
    if not args.keep:
        shutil.rmtree(root)
    print(f"planted bugs: {time.time() - t0:.0f} s in all")
    print(f"{caught} passed, {missed} failed")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
