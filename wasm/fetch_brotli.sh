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

if [ -n "${BROTLI_SDIST:-}" ]; then
    cp "$BROTLI_SDIST" "$TMP/Brotli-$VERSION.tar.gz"
else
    PIP="python3 -m pip"
    [ -x "$HERE/../.venv/bin/pip" ] && PIP="$HERE/../.venv/bin/pip"
    $PIP download --quiet --no-binary :all: --no-deps "brotli==$VERSION" -d "$TMP"
fi

SDIST=$(ls "$TMP"/[Bb]rotli-$VERSION.tar.gz)
echo "$SHA256  $SDIST" | sha256sum -c --quiet - || {
    echo "fetch_brotli: $SDIST does not have the pinned sha256 $SHA256" >&2
    exit 1
}

tar -xzf "$SDIST" -C "$TMP" "Brotli-$VERSION/c/dec" "Brotli-$VERSION/c/common" \
    "Brotli-$VERSION/c/include" "Brotli-$VERSION/LICENSE"
rm -rf "$DEST"
mkdir -p "$(dirname "$DEST")"
mv "$TMP/Brotli-$VERSION" "$DEST"
echo "fetch_brotli: Brotli $VERSION decoder sources in $DEST"
