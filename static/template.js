// A conversation -> the model's prompt, rendered on the device with @huggingface/jinja (an interpreter:
// no eval, so the CSP needs no 'unsafe-eval'). Same rules as server/wasmlm/prompt.py (jinja2's sandbox),
// whose renderings of fixed probe conversations the tests compare with these:
//  - trim_blocks and lstrip_blocks, raise_exception, strftime_now, bos_token and eos_token, a tojson that
//    keeps non-ASCII (the library's defaults);
//  - each message's content is replaced by a sentinel before rendering and the output is cut there, so
//    template text is `special` (may become control tokens) and message content never is: a user who
//    types "<|im_start|>" gets those characters, not the control token. Content goes in verbatim.
import { Template } from "../vendor/jinja/index.js";

// Private-use code points: a template has no reason to produce them, and tokenizers never see them.
const sentinel = (i) => `\ue000${i}\ue001`;
const SENTINEL_SPLIT = /\ue000(\d+)\ue001/;

export class TemplateError extends Error {
  constructor(message) {
    super(message);
    this.name = "TemplateError";
  }
}

const compiled = new Map();   // template source -> Template (a page keeps one or two)

function template_compile(source) {
  let t = compiled.get(source);
  if (!t) {
    try {
      t = new Template(source);
    } catch (err) {
      throw new TemplateError(`the model's chat template does not compile: ${err.message}`);
    }
    compiled.set(source, t);
  }
  return t;
}

function parts_append(parts, text, special) {
  if (!text) return;
  const last = parts.at(-1);
  if (last && last.special === special) last.text += text;
  else parts.push({ text, special });
}

// [{text, special}] whose concatenation is the prompt. `manifest` gives chat_template, bos_token, eos_token.
export function prompt_parts(manifest, messages, { addGenerationPrompt = true } = {}) {
  const parts = [];
  if (!manifest.chat_template) {
    parts_append(parts, messages.map((m) => m.content).join(""), false);
    return parts;
  }
  const template = template_compile(manifest.chat_template);
  const masked = messages.map((m, i) => ({ ...m, content: sentinel(i) }));
  let rendered;
  try {
    rendered = template.render({
      messages: masked,
      add_generation_prompt: addGenerationPrompt,
      bos_token: manifest.bos_token || "",
      eos_token: manifest.eos_token || "",
    });
  } catch (err) {
    throw new TemplateError(`the model's chat template rejects this conversation: ${err.message}`);
  }
  rendered.split(SENTINEL_SPLIT).forEach((piece, i) => {
    if (i % 2 === 0) parts_append(parts, piece, true);
    else parts_append(parts, messages[Number(piece)].content, false);
  });
  return parts;
}
