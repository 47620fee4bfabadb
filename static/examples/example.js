// The JS API in a page: load a model, then stream OpenAI-style chunks into the page. ?model=<id> picks the model.
import { load } from "../wasmlm.js";

const $ = (sel) => document.querySelector(sel);
const id = new URLSearchParams(location.search).get("model") || "smollm2-135m-instruct-q4_1";
const messages = [];
let controller = null;

async function ask(question) {
  messages.push({ role: "user", content: question });
  controller = new AbortController();
  $("#answer").textContent = "";
  let answer = "";
  try {
    const stream = await model.chat.completions.create({ messages, stream: true, max_tokens: 128, temperature: 0.7, signal: controller.signal });
    for await (const chunk of stream) {
      answer += chunk.choices[0]?.delta?.content ?? "";
      $("#answer").textContent = answer;
      if (chunk.usage) $("#status").textContent = `${chunk.usage.completion_tokens} tokens, ${chunk.timings.cache_n} prompt tokens from the cache`;
    }
  } catch (err) {
    $("#status").textContent = `${err.where}: ${err.message}`;   // an AbortError after Stop
  }
  messages.push({ role: "assistant", content: answer });
}

const model = await load(`/chunks/${id}/`, {
  onProgress: (p) => { $("#status").textContent = `Loading ${id}: ${Math.floor((100 * p.bytes) / p.total)}%`; },
}).catch((err) => { $("#status").textContent = `${err.where}: ${err.message}`; throw err; });
window.example = { model };   // for the tests and the curious
$("#status").textContent = `${model.name} is ready (${model.info.build}, ${model.info.threads} thread(s))`;
$("#send").disabled = false;
$("#stop").disabled = false;
$("#ask").addEventListener("submit", (ev) => { ev.preventDefault(); ask($("#question").value); });
$("#stop").addEventListener("click", () => controller?.abort());
