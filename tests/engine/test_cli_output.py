"""The CLI's output reaches a slow reader whole. The threaded builds' stdout under Node.js is a non-blocking
pipe: before wasm/js/node_rawfs.js waited out a full pipe, a reader that fell 64 KiB behind got a cut JSON
(50 KB of 1.8 MB) from a program that exited 0, and test_layers failed in CI once."""
import json
import subprocess
import time

import pytest

from conftest import model_path, node_cli

IDS = json.dumps(list(range(1, 9)))


@pytest.mark.parametrize("build", ["mt", "simd"])
def test_a_reader_that_falls_behind_gets_every_byte(build):
    threads = ["--threads", "2"] if build == "mt" else []
    command = [*node_cli(build), "layers", str(model_path("smollm2")), "--ids", IDS, *threads]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    time.sleep(3)                                   # the pipe (64 KiB) fills long before this
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err.decode()[-2000:]
    states = json.loads(out)                        # a cut output is not JSON
    assert len(out) > 1_000_000 and states["n_layer"] == 30, len(out)
