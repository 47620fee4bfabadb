"""The engine's defaults have one home (wasm/sampler.h, wasm/model.h; docs/contracts.md, "Defaults"):
`wasmlm-cli defaults` prints them, the same in both runtimes, every engine's info carries the same object
(what the chat page fills its blank fields from), and the CLI samples with them."""

import json

from conftest import model_path, run_cli, run_json

KEYS = ["temperature", "top_k", "top_p", "min_p", "repeat_penalty", "repeat_last_n", "seed", "n_ctx"]


def test_defaults_are_the_engines_in_both_runtimes(cli):
    defaults = run_json(cli, "defaults")
    assert list(defaults) == KEYS
    assert defaults["n_ctx"] == 4096 and defaults["repeat_last_n"] == 64
    info = run_json(cli, "info", model_path("smollm2"))
    assert info["defaults"] == defaults
    assert info["n_ctx"] == min(info["n_ctx_train"], defaults["n_ctx"])  # no --ctx: the default context


def test_generate_samples_with_the_defaults(cli):
    """Left out, each sampler option takes the engine's default: the same text as when all are given."""
    d = run_json(cli, "defaults")
    prompt = ["generate", model_path("smollm2"), "Once upon a time", "-n", 12]
    given = ["--temp", d["temperature"], "--top-k", d["top_k"], "--top-p", d["top_p"], "--min-p", d["min_p"],
             "--repeat-penalty", d["repeat_penalty"], "--seed", d["seed"]]
    plain, explicit = run_cli(cli, *prompt), run_cli(cli, *prompt, *given)
    assert plain.returncode == 0 and explicit.returncode == 0, plain.stderr + explicit.stderr
    assert plain.stdout == explicit.stdout and plain.stdout.strip()
    json.loads(plain.stderr.strip().splitlines()[-1])  # the stats line
