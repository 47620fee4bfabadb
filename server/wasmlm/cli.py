"""The `wasmlm` command: pack, serve, setup-models, prompt, nginx-conf, the engine's commands, fidelity, synth,
loadtest, bench."""
import argparse
import json
import sys
import tempfile
from pathlib import Path

from .defaults import BROTLI_QUALITY, DEFAULT_SHARD_SIZE
from .serving import HEADER_TIMEOUT
from .settings import MODELS_DIR, Settings

ENGINE_COMMANDS = ("tokenize", "logits", "perplexity", "generate", "layers")


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


def nginx_conf_cmd(args) -> int:
    from .nginxconf import nginx_conf_render, nginx_prefix_make
    prefix = Path(args.prefix)
    text = nginx_conf_render(Settings(chunks=Path(args.chunks)), listen=args.listen, upstream=args.upstream,
                             prefix=prefix)
    nginx_prefix_make(prefix)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(text)
    else:
        sys.stdout.write(text)
    return 0


def setup_models_cmd(args) -> int:
    from .catalog import manifest_get
    from .defaults import DEFAULT_MODELS
    from .fetch import model_fetch
    from .pack import pack_timed, probes_refresh
    chunks = Path(args.chunks)
    for model in DEFAULT_MODELS:
        gguf = model_fetch(model, Path(args.models))
        manifest = manifest_get(chunks, model.id)
        if manifest and manifest.gguf.sha256 == model.sha256 and all(
                (chunks / model.id / s.file).is_file() for s in manifest.shards):
            refreshed = probes_refresh(chunks / model.id)
            print(f"{model.id}: packed already" + (" (template probes renewed)" if refreshed else ""))
            continue
        print(pack_timed(gguf, chunks, model_id=model.id, name=model.name)[1])
    return 0


def prompt_cmd(args) -> int:
    """Renders a conversation with a packed model's chat template in jinja2's sandbox (the page renders it
    itself, with @huggingface/jinja: this is the command line's renderer and the reference)."""
    from .catalog import manifest_get
    from .prompt import PromptError, prompt_render
    manifest = manifest_get(Path(args.chunks), args.model)
    if manifest is None:
        print(f"wasmlm prompt: no packed model {args.model!r} in {args.chunks}", file=sys.stderr)
        return 1
    try:
        messages = json.loads(sys.stdin.read() if args.messages == "-" else args.messages)
        parts = prompt_render(manifest.as_dict(), messages, not args.no_generation_prompt)
    except (ValueError, KeyError, TypeError) as e:   # PromptError is a ValueError
        reason = str(e) if isinstance(e, PromptError) else f"--messages must be a JSON list of {{role, content}} ({e})"
        print(f"wasmlm prompt: {reason}", file=sys.stderr)
        return 1
    print(json.dumps({"prompt": "".join(p["text"] for p in parts), "parts": parts}, ensure_ascii=False)
          if args.json else "".join(p["text"] for p in parts))
    return 0


def engine_cmd(subcommand: str, argv: list[str]) -> int:
    from .engine_cli import EngineError, engine_run
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


def fidelity_cmd(args) -> int:
    from .engine_cli import EngineError, model_resolve
    from .fidelity.report import report_write
    from .fidelity.requantize import DEFAULT_FORMATS, ENGINE_FORMATS
    from .fidelity.run import DEFAULT_TEXT, fidelity_run
    chosen = ",".join(DEFAULT_FORMATS) if args.formats is None else args.formats
    formats = [f.strip().upper() for f in chosen.split(",") if f.strip()]
    unknown = [f for f in formats + [args.ablate.upper()] if f and f not in ENGINE_FORMATS]
    if unknown:
        print(f"wasmlm fidelity: unknown format {unknown[0]} (the engine runs {', '.join(ENGINE_FORMATS)})",
              file=sys.stderr)
        return 2
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        print("wasmlm fidelity: the plots need matplotlib: pip install 'wasmlm[fidelity]'", file=sys.stderr)
        return 1
    try:
        model = model_resolve(args.model, Path(args.chunks))
        text = Path(args.text or DEFAULT_TEXT).read_text()
        out = Path(args.out or f"fidelity-{model.stem}")
        # the requantized files (up to 4 bytes a weight) go to a temporary folder, never beside the report
        with tempfile.TemporaryDirectory(prefix="wasmlm-fidelity-") as work:
            result = fidelity_run(model, text, formats, Path(work), runtime=args.runtime, n_tokens=args.tokens,
                                  llama_python=args.llama_python, ablate=args.ablate.upper() or None)
    except (EngineError, OSError, ValueError) as e:
        print(f"wasmlm fidelity: {e}", file=sys.stderr)
        return 1
    for path in report_write(result, out):
        print(path)
    return 0


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

    s = sub.add_parser("fidelity", help="per-layer error against a numpy float32 pass, and the quantization "
                                        "ladder: Markdown + JSON + plots (docs/fidelity.md)")
    s.add_argument("model", help="a GGUF path or a packed model id")
    s.add_argument("--text", help="text file to run (default: a built-in paragraph)")
    s.add_argument("--tokens", type=int, default=128, help="tokens of the text used (default: %(default)s)")
    s.add_argument("--formats", help="comma-separated ladder (default: F32,F16,Q8_0,Q5_0,Q4_1,Q4_0; '' for none)")
    s.add_argument("--ablate", default="Q4_0", help="format whose error is split by weight group: embeddings, "
                   "attention, FFN quantized alone, numpy only ('' for none; default: %(default)s)")
    s.add_argument("--out", help="output folder (default: fidelity-<model>)")
    s.add_argument("--runtime", choices=("native", "node"), default="node")
    s.add_argument("--llama-python", help="a Python with llama-cpp-python, for llama.cpp's figures (optional)")
    s.add_argument("--chunks", default=str(settings.chunks))
    s.set_defaults(run=fidelity_cmd)

    s = sub.add_parser("prompt", help="a conversation rendered with a packed model's chat template (jinja2)")
    s.add_argument("model", help="a packed model id")
    s.add_argument("messages", help='JSON list of {"role", "content"}, or - to read it from standard input')
    s.add_argument("--no-generation-prompt", action="store_true", help="leave out the assistant's header")
    s.add_argument("--json", action="store_true", help='print {"prompt", "parts": [{"text", "special"}]}')
    s.add_argument("--chunks", default=str(settings.chunks))
    s.set_defaults(run=prompt_cmd)

    s = sub.add_parser("nginx-conf", help="docker/nginx.conf rendered for this checkout (docs/operations.md)")
    s.add_argument("--listen", default="127.0.0.1:8080", help="nginx's listen address (default: %(default)s)")
    s.add_argument("--upstream", default=f"{settings.host}:{settings.port}",
                   help="the app's address (default: %(default)s)")
    s.add_argument("--prefix", default="/tmp/wasmlm-nginx", help="pid and temporary files (default: %(default)s)")
    s.add_argument("--chunks", default=str(settings.chunks))
    s.add_argument("--out", help="write here instead of standard output")
    s.set_defaults(run=nginx_conf_cmd)

    for name in ENGINE_COMMANDS:
        sub.add_parser(name, help=f"the engine's `{name}` (MODEL [args] [--runtime native|node])", add_help=False)
    sub.add_parser("synth", help="a GGUF of a model family's real shape with random weights, quantized by "
                                 "llama.cpp (docs/models.md)", add_help=False)
    sub.add_parser("loadtest", help="concurrent random-range load on a loopback server", add_help=False)
    sub.add_parser("bench", help="the browser/Node/native benchmark (e2e.bench)", add_help=False)
    return p


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    command, rest = (argv[0], argv[1:]) if argv else (None, [])
    if command in ENGINE_COMMANDS:
        return engine_cmd(command, rest)
    if command == "synth":   # numpy and gguf only when asked for: `serve` starts without them
        from .synth import main as synth_main
        return synth_main(rest)
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
