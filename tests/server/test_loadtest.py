"""`wasmlm loadtest` runs against a real `wasmlm serve` and sees no errors (its timings are printed only).

It runs as its own process: the browser tests' Playwright keeps an event loop in this one."""
import subprocess
import sys


def test_loadtest_has_no_errors(chunks):
    r = subprocess.run([sys.executable, "-m", "wasmlm.cli", "loadtest", "--chunks", str(chunks),
                        "--clients", "50", "--seconds", "2"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "requests/s" in r.stdout and r.stdout.rstrip().endswith("errors 0")
