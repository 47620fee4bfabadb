#!/bin/sh
# Fetches llama.cpp's tokenizer test suite (vocabulary-only GGUF files with .inp strings and the
# .out ids llama.cpp gives them) and its test set of chat templates (templates/*.jinja, for
# e2e/tests/test_templates_llamacpp.py) from the pinned llama-cpp-python sdist on PyPI into
# wasm/third_party/llama-vocab/. Third-party files are never committed: the test build runs this
# when the folder is missing. A local copy may be given with LLAMA_CPP_SDIST=/path/llama_cpp_python-0.3.36.tar.gz.
set -eu

VERSION=0.3.36
SHA256=832db0699007f1be95a7e41ef12e88926b02ba836461e36a36372db2760c1a2e
HERE=$(cd "$(dirname "$0")" && pwd)
DEST="$HERE/third_party/llama-vocab"
VOCABS="llama-spm llama-bpe phi-3 qwen2 qwen35 gpt-2 deepseek-llm deepseek-coder starcoder falcon command-r mpt refact gemma-4"

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

SDIST=$("$HERE/sdist_fetch.sh" llama-cpp-python "$VERSION" "$SHA256" "$TMP" "${LLAMA_CPP_SDIST:-}")

MODELS="llama_cpp_python-$VERSION/vendor/llama.cpp/models"
FILES=""
for v in $VOCABS; do
    FILES="$FILES $MODELS/ggml-vocab-$v.gguf $MODELS/ggml-vocab-$v.gguf.inp $MODELS/ggml-vocab-$v.gguf.out"
done
# shellcheck disable=SC2086
tar -xzf "$SDIST" -C "$TMP" --wildcards $FILES "llama_cpp_python-$VERSION/vendor/llama.cpp/LICENSE" \
    "$MODELS/templates/*.jinja"
cp "$TMP/llama_cpp_python-$VERSION/vendor/llama.cpp/LICENSE" "$TMP/$MODELS/LICENSE"
rm -rf "$DEST"
mkdir -p "$(dirname "$DEST")"
mv "$TMP/$MODELS" "$DEST"
echo "fetch_llama_vocab: llama.cpp $VERSION tokenizer tests ($(echo $VOCABS | wc -w) vocabularies) in $DEST"
