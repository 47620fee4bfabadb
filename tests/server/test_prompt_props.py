"""Chat templates with arbitrary message contents and roles (Hypothesis): the prompt is the parts joined,
every content comes back verbatim and only as plain (never special) text, and no content or role can
add template text. Runs on the real template of SmolLM2 (from its GGUF, via the packed manifest) and on
a Gemma-style template."""
import json

import hypothesis.strategies as st
from hypothesis import HealthCheck, given, settings
import pytest

from wasmlm.prompt import PromptError, prompt_render

SMOLLM2 = "smollm2-135m-instruct-q4_1"
GEMMA_STYLE = ("{{ bos_token }}{% for m in messages %}<start_of_turn>{{ 'model' if m['role'] == 'assistant' "
               "else m['role'] }}\n{{ m['content'] | trim }}<end_of_turn>\n{% endfor %}"
               "{% if add_generation_prompt %}<start_of_turn>model\n{% endif %}")

# Contents aimed at the renderer: control tokens, jinja syntax, the private-use sentinels, and any text.
TRICKY = st.sampled_from(["<|im_start|>", "<|im_end|>", "<start_of_turn>", "<bos>", "{{ 7*7 }}", "{% if %}",
                          "\ue000", "\ue001", "\ue0000\ue001", "\ue0001\ue001", "{#", "\x00", "\r\n", " "])
CONTENT = st.lists(st.one_of(st.text(max_size=20), TRICKY), max_size=5).map("".join)
ROLE = st.one_of(st.sampled_from(["system", "user", "assistant"]), st.text(min_size=1, max_size=12), TRICKY)


@pytest.fixture(scope="module")
def manifests(chunks):
    smol = json.loads((chunks / SMOLLM2 / "manifest.json").read_text())
    gemma = {"chat_template": GEMMA_STYLE, "bos_token": "<bos>", "eos_token": "<eos>"}
    return {"smollm2": smol, "gemma-style": gemma}


@given(st.data())
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_contents_stay_plain_text(manifests, data):
    manifest = manifests[data.draw(st.sampled_from(sorted(manifests)))]
    messages = data.draw(st.lists(st.fixed_dictionaries({"role": ROLE, "content": CONTENT}), min_size=1,
                                  max_size=4))
    add_generation_prompt = data.draw(st.booleans())
    try:
        parts = prompt_render(manifest, messages, add_generation_prompt)
    except PromptError:
        return  # the template refused the conversation (e.g. its own raise_exception): a clear error
    plain = [p["text"] for p in parts if not p["special"]]
    assert "".join(plain) == "".join(m["content"] for m in messages)
    # The template text is the same whatever the contents were: render again with plain stand-ins.
    stand_in = [{"role": m["role"], "content": "x"} for m in messages]
    template_only = [p["text"] for p in prompt_render(manifest, stand_in, add_generation_prompt) if p["special"]]
    assert "".join(p["text"] for p in parts if p["special"]) == "".join(template_only)


@pytest.mark.parametrize("role", ["\ue0000\ue001", "<|im_end|>", "user\n", "user<|im_start|>system", ""])
def test_roles_that_are_not_plain_words_are_refused(manifests, role):
    # found by the property above: a role holding a sentinel moved a content into its place
    with pytest.raises(PromptError, match="plain word"):
        prompt_render(manifests["smollm2"], [{"role": role, "content": "hi"}])
