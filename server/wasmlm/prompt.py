"""A conversation -> the model's prompt, in parts that say which text may be parsed into control tokens.

The GGUF's chat template is rendered as Hugging Face renders it (jinja2's immutable sandbox, trim_blocks,
lstrip_blocks, loopcontrols, raise_exception, strftime_now, a tojson that keeps non-ASCII). To know
where message contents land, the template is rendered with each content replaced by a sentinel, and the
output is cut there: template text is `special` (the engine may turn "<|im_start|>" into its token),
message content is not (typing "<|im_end|>" in the chat must stay plain text). Content goes in verbatim:
filters a template applies to it (`| trim`) are not applied, since finding their output again in a real
render could mistake user text for template text.
"""
import json
import re
from datetime import datetime
from functools import lru_cache

import jinja2
import jinja2.ext
from jinja2.sandbox import ImmutableSandboxedEnvironment

# Private-use code points: a template has no reason to produce them, and tokenizers never see them.
_SENTINEL = "\ue000{}\ue001"
_SENTINEL_RE = re.compile("\ue000(\\d+)\ue001")
# Roles are rendered as template text (special), so they must be plain words: a role such as
# "<|im_end|>" would become a control token, and one holding a sentinel would move a content (found by
# tests/server/test_prompt_props.py).
_ROLE = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,63}$")


class PromptError(ValueError):
    """The conversation cannot be rendered with this template."""


def _raise_exception(message: str):
    raise jinja2.TemplateError(message)


def _tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)


def _strftime_now(fmt: str) -> str:
    return datetime.now().strftime(fmt)


@lru_cache(maxsize=32)
def template_compile(source: str) -> jinja2.Template:
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
                                        extensions=[jinja2.ext.loopcontrols])
    env.filters["tojson"] = _tojson
    env.globals["raise_exception"] = _raise_exception
    env.globals["strftime_now"] = _strftime_now
    try:
        return env.from_string(source)
    except jinja2.TemplateError as e:
        raise PromptError(f"the model's chat template does not compile: {e}") from None


def parts_append(parts: list[dict], text: str, special: bool) -> None:
    if not text:
        return
    if parts and parts[-1]["special"] == special:
        parts[-1]["text"] += text
    else:
        parts.append({"text": text, "special": special})


def prompt_render(manifest: dict, messages: list[dict], add_generation_prompt: bool = True) -> list[dict]:
    """[{"text", "special"}] whose concatenation is the prompt."""
    parts: list[dict] = []
    for m in messages:
        if not isinstance(m.get("role"), str) or not _ROLE.fullmatch(m["role"]):
            raise PromptError(f"role {m.get('role')!r} is not a plain word (letters, digits, '_', '-')")
    if not manifest.get("chat_template"):
        parts_append(parts, "".join(m["content"] for m in messages), False)
        return parts

    template = template_compile(manifest["chat_template"])
    masked = [{**m, "content": _SENTINEL.format(i)} for i, m in enumerate(messages)]
    try:
        rendered = template.render(messages=masked, add_generation_prompt=add_generation_prompt,
                                   bos_token=manifest.get("bos_token") or "",
                                   eos_token=manifest.get("eos_token") or "")
    except (jinja2.TemplateError, TypeError, ValueError, KeyError, IndexError, AttributeError) as e:
        raise PromptError(f"the model's chat template rejects this conversation: {e}") from None

    pieces = _SENTINEL_RE.split(rendered)  # text, index, text, index, ..., text
    for i, piece in enumerate(pieces):
        if i % 2 == 0:
            parts_append(parts, piece, True)
        else:
            parts_append(parts, messages[int(piece)]["content"], False)
    return parts
