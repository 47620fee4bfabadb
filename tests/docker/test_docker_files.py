"""docker/Dockerfile and docker/compose.yaml cannot be built here (no Docker daemon): this checks that they
agree with the checkout, scripts/dev.sh, the CLI, the app's routes and docker/nginx.conf."""
import asyncio
import re
import shlex
import subprocess
from pathlib import Path

import httpx
import pytest
import yaml
from dockerfile_parse import DockerfileParser

from e2e.nginx import nginx_command
from wasmlm.cli import parser_build
from wasmlm.main import app_create
from wasmlm.settings import ROOT

DOCKER = ROOT / "docker"


@pytest.fixture(scope="module")
def dockerfile() -> DockerfileParser:
    return DockerfileParser(path=str(DOCKER / "Dockerfile"))


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((DOCKER / "compose.yaml").read_text())


def instructions(df: DockerfileParser, name: str) -> list[str]:
    return [i["value"] for i in df.structure if i["instruction"] == name]


def exec_form(value: str) -> list[str]:
    return yaml.safe_load(value) if value.lstrip().startswith("[") else shlex.split(value)


def answers_ok(path: str) -> bool:
    """The app (no server needed: httpx's ASGI transport) answers GET path with 200."""
    async def get():
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app_create()), base_url="http://t") as c:
            return (await c.get(path)).status_code
    return asyncio.run(get()) == 200


def test_every_copy_source_exists(dockerfile):
    copies = instructions(dockerfile, "COPY") + instructions(dockerfile, "ADD")
    assert copies
    for value in copies:
        *sources, _dest = shlex.split(value)
        for src in sources:
            assert not src.startswith("--"), f"COPY {value}: flags are not expected here"
            assert (ROOT / src).exists(), f"COPY {src}: missing from the build context"


def test_run_uses_dev_sh_setup(dockerfile):
    [run] = instructions(dockerfile, "RUN")
    assert "bash scripts/dev.sh setup" in run
    commands = re.findall(r"^\s*([a-z]+)\)", (ROOT / "scripts" / "dev.sh").read_text(), re.M)
    assert "setup" in commands, commands
    # What set-up removes and rebuilds is what the ignore file keeps out of the context.
    ignored = (DOCKER / "Dockerfile.dockerignore").read_text().split()
    for folder in re.search(r"rm -rf ([^&]+)&&", run)[1].split():
        assert folder in ignored, folder


def test_cmd_and_healthcheck_match_the_cli(dockerfile):
    env = dockerfile.envs
    cmd = exec_form(instructions(dockerfile, "CMD")[-1])
    assert cmd[0] == ".venv/bin/wasmlm"
    args = parser_build().parse_args(cmd[1:])
    assert args.command == "serve"
    # The CLI's defaults come from the environment the image sets (argparse saw the test's own here).
    assert env["WASMLM_HOST"] == "0.0.0.0" and instructions(dockerfile, "EXPOSE") == [env["WASMLM_PORT"]]
    health = instructions(dockerfile, "HEALTHCHECK")[-1]
    url = re.search(r"http://127\.0\.0\.1:(\d+)(/[a-z/]*)", health)
    assert url[1] == env["WASMLM_PORT"] and answers_ok(url[2]), health
    python = shlex.split(health.removeprefix("CMD "))
    assert python[:2] == [".venv/bin/python", "-c"]
    compile(python[2], "healthcheck", "exec")


def test_compose_matches_the_image_the_cli_and_nginx(dockerfile, compose):
    app, nginx = compose["services"]["app"], compose["services"]["nginx"]
    assert (Path(DOCKER / app["build"]["context"]).resolve() / app["build"]["dockerfile"]) == DOCKER / "Dockerfile"
    assert nginx["image"] == app["image"]
    assert app["command"] == exec_form(instructions(dockerfile, "CMD")[-1])
    assert app["environment"]["WASMLM_PORT"] == dockerfile.envs["WASMLM_PORT"]
    assert app["expose"] == [dockerfile.envs["WASMLM_PORT"]]

    shell = nginx["command"][2]
    render, start = shell.split(" && ")
    argv = shlex.split(render)
    assert argv[0] == ".venv/bin/wasmlm"
    args = parser_build().parse_args(argv[1:])
    assert args.command == "nginx-conf"
    assert args.upstream == f"app:{app['environment']['WASMLM_PORT']}"
    listen_port = args.listen.rsplit(":", 1)[1]
    assert nginx["ports"] == [f"{listen_port}:{listen_port}"]
    assert f"-c {args.out}" in start and start.startswith("exec nginx")
    health = nginx["healthcheck"]["test"]
    assert f"127.0.0.1:{listen_port}/healthz" in health[-1]
    assert answers_ok(re.search(r"127\.0\.0\.1:\d+(/[a-z/]*)", health[-1])[1])


def test_nginx_template_renders_and_parses(tmp_path):
    """The command compose runs, here: render for a port, then `nginx -t` reads it (Debian's nginx)."""
    out = tmp_path / "nginx.conf"
    subprocess.run([str(ROOT / ".venv" / "bin" / "wasmlm"), "nginx-conf", "--listen", "127.0.0.1:1",
                    "--upstream", "app:8000", "--prefix", str(tmp_path), "--out", str(out)], check=True)
    assert "@" not in re.sub(r"#.*", "", out.read_text()).replace("@app", "")
    result = subprocess.run([nginx_command(), "-t", "-e", "stderr", "-c", str(out)], capture_output=True, text=True)
    # app:8000 does not resolve outside compose: that is the only complaint nginx may make here.
    assert result.returncode == 0 or "host not found in upstream \"app:8000\"" in result.stderr, result.stderr
