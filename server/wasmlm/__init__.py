"""wasmlm: packs GGUF models into shards and serves them, with the chat page, to a WebAssembly engine in the browser."""
