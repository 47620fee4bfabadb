"""Every template of llama.cpp's test set that jinja2 can render renders identically in the page
(@huggingface/jinja, static/template.js), on every probe conversation; the exceptions are listed with
their reason below and in docs/privacy.md, and the list is checked to be exact."""
import pytest

from e2e.llamacpp_templates import templates_get
from wasmlm.prompt import PROBES, PromptError, prompt_render

BOS, EOS = "<s>", "</s>"
# template -> why the page cannot render what jinja2 renders (found by this test, kept exact by it, and
# listed in docs/privacy.md). All but two are tool-calling variants that loop over an undefined `tools`.
UNDEFINED_LOOP = "loops over `tools`, which is undefined without tools: jinja2 iterates an undefined as empty, @huggingface/jinja refuses"
KNOWN_DIFFERENCES = {
    "ByteDance-Seed-OSS.jinja": "a dict literal with integer keys ({0: 0, 512: 128, ...}): @huggingface/jinja takes string keys only",
    "CohereForAI-c4ai-command-r-plus-tool_use.jinja": UNDEFINED_LOOP,
    "NousResearch-Hermes-2-Pro-Llama-3-8B-tool_use.jinja": UNDEFINED_LOOP,
    "NousResearch-Hermes-3-Llama-3.1-8B-tool_use.jinja": UNDEFINED_LOOP,
    "meetkai-functionary-medium-v3.1.jinja": "`tools | selectattr(...)` with no tools: jinja2 filters an undefined as empty, @huggingface/jinja refuses",
    "unsloth-Apriel-1.5.jinja": "`tools | length` with no tools: jinja2 gives 0 for an undefined, @huggingface/jinja refuses",
    "tencent-Hy3.jinja": "Python's str.format() ('<｜hy_eos{}｜>'.format(...)): @huggingface/jinja has no format method on strings",
}
# template -> why jinja2 (and so the command line) cannot render any probe with it
JINJA2_CANNOT = {
    "LFM2.5-8B-A1B.jinja": "{% generation %}: a tag of transformers' own (assistant masks), unknown to plain jinja2",
    "poolside-Laguna-S-2.1.jinja": "{% generation %}: a tag of transformers' own (assistant masks), unknown to plain jinja2",
    "poolside-Laguna-XS-2.1.jinja": "{% generation %}: a tag of transformers' own (assistant masks), unknown to plain jinja2",
    "poolside-Laguna-XS.2.jinja": "{% generation %}: a tag of transformers' own (assistant masks), unknown to plain jinja2",
    "fireworks-ai-llama-3-firefunction-v2.jinja": "needs a `functions` variable (its tool definitions) in every conversation",
}
RENDER_ALL = """async (cases) => {
  const t = await import('/static/template.js');
  return cases.map(({ manifest, messages, add_generation_prompt }) => {
    try { return { parts: t.prompt_parts(manifest, messages, { addGenerationPrompt: add_generation_prompt }) }; }
    catch (e) { return { error: e.message }; }
  });
}"""


@pytest.fixture(scope="module")
def templates():
    return templates_get()


@pytest.fixture(scope="module")
def page(chromium, wasmlm_server):
    """A page of the site in Chromium (no model is needed); its Playwright page takes the cases as an argument."""
    tab = chromium.context_new()
    tab.open(f"{wasmlm_server.url}/static/examples/index.html?model=none")
    yield tab.page
    tab.tab_close()


def jinja2_render(manifest, probe):
    try:
        return {"parts": prompt_render(manifest, probe["messages"], probe["add_generation_prompt"])}
    except PromptError as e:
        return {"error": str(e)}


def difference(want: dict, got: dict) -> str:
    if "error" in got:
        return f"the page fails: {got['error']}"
    a = "".join(p["text"] for p in want["parts"])
    b = "".join(p["text"] for p in got["parts"])
    if a == b:
        return "same text, parts cut differently"
    i = next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
    return f"text differs at {i}: jinja2 {a[max(0, i - 40):i + 60]!r} / page {b[max(0, i - 40):i + 60]!r}"


def test_the_pinned_set_is_there(templates):
    assert len(templates) == 70
    for name in ("Qwen-Qwen2.5-7B-Instruct.jinja", "Qwen-Qwen3-0.6B.jinja", "HuggingFaceTB-SmolLM3-3B.jinja",
                 "google-gemma-2-2b-it.jinja", "Mistral-Small-3.2-24B-Instruct-2506.jinja",
                 "meta-llama-Llama-3.1-8B-Instruct.jinja", "ibm-granite-granite-3.3-2B-Instruct.jinja"):
        assert name in templates


def test_page_renders_like_jinja2(page, templates):
    cases, keys = [], []
    for name, source in templates.items():
        manifest = {"name": name, "chat_template": source, "bos_token": BOS, "eos_token": EOS}
        for probe in PROBES:
            cases.append({"manifest": manifest, "messages": probe["messages"],
                          "add_generation_prompt": probe["add_generation_prompt"]})
            keys.append((name, probe))
    browser = page.evaluate(RENDER_ALL, cases)

    differ: dict[str, str] = {}
    jinja2_cannot: dict[str, str] = {}
    rendered = 0
    for (name, probe), case, got in zip(keys, cases, browser, strict=True):
        want = jinja2_render(case["manifest"], probe)
        if "error" in want:
            jinja2_cannot.setdefault(name, want["error"])
            continue
        rendered += 1
        if got != want and name not in differ:
            differ[name] = f"{probe['name']}: {difference(want, got)}"
    never = {n: e for n, e in jinja2_cannot.items()
             if all("error" in jinja2_render({"chat_template": templates[n], "bos_token": BOS, "eos_token": EOS}, p)
                    for p in PROBES)}
    print(f"\n{rendered} renderings compared over {len(templates)} templates; jinja2 renders none of the probes "
          f"with {len(never)}:")
    for n, e in sorted(never.items()):
        print(f"  {n}: {e[:200]}")
    print(f"page differs from jinja2 on {len(differ)}:")
    for n, e in sorted(differ.items()):
        print(f"  {n}: {e[:600]}")
    assert set(differ) == set(KNOWN_DIFFERENCES), "the list of known differences is not exact"
    assert set(never) == set(JINJA2_CANNOT), "the list of templates jinja2 cannot render is not exact"
    assert rendered >= 550
