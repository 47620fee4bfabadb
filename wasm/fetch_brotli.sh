#!/bin/sh
# Fetches Google's Brotli decoder sources from the pinned PyPI sdist into wasm/third_party/brotli/.
# Third-party source is never committed: the build runs this when the folder is missing.
# A local copy of the sdist may be given with BROTLI_SDIST=/path/Brotli-1.1.0.tar.gz.
set -eu

VERSION=1.1.0
SHA256=81de08ac11bcb85841e440c13611c00b67d3bf82698314928d0b676362546724
HERE=$(cd "$(dirname "$0")" && pwd)
DEST="$HERE/third_party/brotli"

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

SDIST=$("$HERE/sdist_fetch.sh" brotli "$VERSION" "$SHA256" "$TMP" "${BROTLI_SDIST:-}")

tar -xzf "$SDIST" -C "$TMP" "Brotli-$VERSION/c/dec" "Brotli-$VERSION/c/common" \
    "Brotli-$VERSION/c/include" "Brotli-$VERSION/LICENSE"
rm -rf "$DEST"
mkdir -p "$(dirname "$DEST")"
mv "$TMP/Brotli-$VERSION" "$DEST"
echo "fetch_brotli: Brotli $VERSION decoder sources in $DEST"
