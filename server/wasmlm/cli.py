"""The `wasmlm` command: pack, serve, setup-models, the engine's commands, loadtest, bench."""
import argparse
import sys
from pathlib import Path

from .pack import BROTLI_QUALITY, DEFAULT_SHARD_SIZE
from .serving import HEADER_TIMEOUT
from .settings import MODELS_DIR, Settings

ENGINE_COMMANDS = ("tokenize", "logits", "perplexity", "generate")


def size_parse(text: str) -> int:
    """'4M', '512K', '1048576' -> bytes."""
    units = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30}
    text = text.strip().lower().removesuffix("ib").removesuffix("b")
    try:
        return int(float(text[:-1]) * units[text[-1]]) if text[-1:] in units else int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (try 4M, 512K or a number of bytes)") from None


def pack_cmd(args) -> int:
    from .pack import PackError, pack_timed
    try:
        _, line = pack_timed(Path(args.gguf), Path(args.chunks), model_id=args.id, name=args.name,
                             shard_size=args.shard_size, quality=args.quality)
    except PackError as e:
        print(f"wasmlm pack: {e}", file=sys.stderr)
        return 1
    print(line)
    return 0


def serve_cmd(args) -> int:
    import uvicorn

    from .main import app_create
    settings = Settings(host=args.host, port=args.port, chunks=Path(args.chunks))
    if not settings.chunks.is_dir():
        print(f"wasmlm serve: note: {settings.chunks} does not exist yet; no model is served "
              "(run `wasmlm setup-models`)", file=sys.stderr)
    from .serving import protocol_with, serve_limits
    uvicorn.run(app_create(settings), host=settings.host, port=settings.port, log_level=args.log_level,
                http=protocol_with(args.header_timeout), **serve_limits())
    return 0


def setup_models_cmd(args) -> int:
    from .catalog import manifest_get
    from .defaults import DEFAULT_MODELS
    from .fetch import model_fetch
    from .pack import pack_timed
    chunks = Path(args.chunks)
    for model in DEFAULT_MODELS:
        gguf = model_fetch(model, Path(args.models))
        manifest = manifest_get(chunks, model.id)
        if manifest and manifest["gguf"]["sha256"] == model.sha256 and all(
                (chunks / model.id / s["file"]).is_file() for s in manifest["shards"]):
            print(f"{model.id}: packed already")
            continue
        print(pack_timed(gguf, chunks, model_id=model.id, name=model.name)[1])
    return 0


def engine_cmd(subcommand: str, argv: list[str]) -> int:
    from .engine import EngineError, engine_run
    p = argparse.ArgumentParser(prog=f"wasmlm {subcommand}",
                                description=f"runs `wasmlm-cli {subcommand}` (docs/contracts.md, CLI protocol); "
                                            "other arguments pass through")
    p.add_argument("model", help="a GGUF path or a packed model id")
    p.add_argument("--runtime", choices=("native", "node"), default="native")
    p.add_argument("--chunks", default=str(Settings().chunks))
    args, rest = p.parse_known_args(argv)
    try:
        return engine_run(subcommand, args.model, rest, args.runtime, Path(args.chunks))
    except EngineError as e:
        print(f"wasmlm {subcommand}: {e}", file=sys.stderr)
        return 1


def parser_build() -> argparse.ArgumentParser:
    settings = Settings()
    p = argparse.ArgumentParser(prog="wasmlm", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("pack", help="GGUF -> chunks/<id>/ (manifest + Brotli/raw shards)")
    s.add_argument("gguf")
    s.add_argument("--chunks", "--out", default=str(settings.chunks), help="output directory (default: %(default)s)")
    s.add_argument("--id", help="model id (default: from the file name)")
    s.add_argument("--name", help="display name (default: the GGUF's general.name)")
    s.add_argument("--shard-size", type=size_parse, default=DEFAULT_SHARD_SIZE,
                   help=f"target shard size, e.g. 4M or 512K (default: {DEFAULT_SHARD_SIZE >> 20}M)")
    s.add_argument("--quality", type=int, default=BROTLI_QUALITY, choices=range(12), metavar="0-11",
                   help=f"Brotli quality (default: {BROTLI_QUALITY})")
    s.set_defaults(run=pack_cmd)

    s = sub.add_parser("serve", help="serve the page and every packed model")
    s.add_argument("--host", default=settings.host)
    s.add_argument("--port", type=int, default=settings.port)
    s.add_argument("--chunks", default=str(settings.chunks))
    s.add_argument("--log-level", default="info")
    s.add_argument("--header-timeout", type=float, default=HEADER_TIMEOUT,
                   help="seconds a request may take to send its headers (default: %(default)s; docs/hostile-clients.md)")
    s.set_defaults(run=serve_cmd)

    s = sub.add_parser("setup-models", help="fetch and pack the default models (skips what is done)")
    s.add_argument("--models", default=str(MODELS_DIR))
    s.add_argument("--chunks", default=str(settings.chunks))
    s.set_defaults(run=setup_models_cmd)

    for name in ENGINE_COMMANDS:
        sub.add_parser(name, help=f"the engine's `{name}` (MODEL [args] [--runtime native|node])", add_help=False)
    sub.add_parser("loadtest", help="concurrent random-range load on a loopback server", add_help=False)
    sub.add_parser("bench", help="the browser/Node/native benchmark (e2e.bench)", add_help=False)
    return p


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    command, rest = (argv[0], argv[1:]) if argv else (None, [])
    if command in ENGINE_COMMANDS:
        return engine_cmd(command, rest)
    if command == "loadtest":
        from .loadtest import main as loadtest_main
        return loadtest_main(rest)
    if command == "bench":
        from e2e.bench import main as bench_main
        return bench_main(rest)
    args = parser_build().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
