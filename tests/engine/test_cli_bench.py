"""`bench --depth N` (wasm/cli.cpp, natively and under Node.js): the cache holds N tokens before the timed prompt,
so the figures are those at that position (docs/bench/scaling.md, cost against context). No speed is
asserted: what is checked is that the tokens really went through the model, in batches, on both runtimes."""
from conftest import model_path, run_cli, run_json


def test_depth_fills_the_cache_before_the_timed_prompt(cli):
    depth, prompt, gen = 300, 4, 2
    result = run_json(cli, "bench", model_path("smollm2"), "--prompt", prompt, "--gen", gen, "--depth", depth)
    plain = run_json(cli, "bench", model_path("smollm2"), "--prompt", prompt, "--gen", gen)
    assert result["depth"] == depth and plain["depth"] == 0
    tokens = result["stats"]["tokens"]
    assert tokens["prompt"] == depth + prompt and tokens["generated"] == gen
    assert tokens["evals"] == 2 + 1 + gen  # 300 cache tokens in batches of 256, the prompt, one per token
    assert plain["stats"]["tokens"] == {"prompt": prompt, "generated": gen, "evals": 1 + gen}
    # the cache is made for depth + prompt + gen positions
    assert result["kv_bytes"] == plain["kv_bytes"] * (depth + prompt + gen) // (prompt + gen)


def test_a_negative_depth_is_refused(cli):
    result = run_cli(cli, "bench", model_path("smollm2"), "--depth", -1)
    assert result.returncode == 2 and "--depth must not be negative" in result.stderr
