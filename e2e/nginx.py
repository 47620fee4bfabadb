"""nginx in front of a running wasmlm server, as in docker/nginx.conf: rendered for a free loopback port,
run as an unprivileged user (nobody, when the tests run as root), stopped by its pid."""
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from wasmlm.nginxconf import nginx_conf_render, nginx_prefix_make
from wasmlm.localserve import free_port, process_stop, process_until_answers
from wasmlm.settings import Settings


def nginx_command() -> str:
    """Debian's nginx (in /usr/sbin, which a user's PATH may lack)."""
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if os.access("/usr/sbin/nginx", os.X_OK) else None)
    if not found:
        raise RuntimeError("nginx is not installed: `bash scripts/dev.sh test` installs Debian's nginx package")
    return found


def unprivileged(argv: list[str]) -> list[str]:
    """As root, nginx would keep a root master process: run it all as nobody instead."""
    if os.geteuid() != 0:
        return argv
    return ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", *argv]


class NginxFront:
    def __init__(self, upstream_port: int, chunks_dir: Path, start_timeout_s: float = 20):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.upstream_port = upstream_port
        self.chunks_dir = chunks_dir
        self.start_timeout_s = start_timeout_s

    def __enter__(self) -> "NginxFront":
        self.prefix = Path(tempfile.mkdtemp(prefix="wasmlm-nginx-"))
        conf = nginx_conf_render(Settings(chunks=self.chunks_dir), listen=f"127.0.0.1:{self.port}",
                                 upstream=f"127.0.0.1:{self.upstream_port}", prefix=self.prefix)
        nginx_prefix_make(self.prefix)
        (self.prefix / "nginx.conf").write_text(conf)
        for p in [self.prefix, *self.prefix.iterdir()]:
            p.chmod(0o777)   # nobody writes its pid and temporary files here
        self.log_path = self.prefix / "nginx.log"
        self._log = open(self.log_path, "wb")
        self._proc = subprocess.Popen(
            unprivileged([nginx_command(), "-e", "stderr", "-c", str(self.prefix / "nginx.conf"),
                          "-g", "daemon off;"]), stdout=self._log, stderr=subprocess.STDOUT)
        try:
            process_until_answers(self._proc, f"{self.url}/healthz", "nginx", self.log_path, self.start_timeout_s)
        except RuntimeError:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc) -> None:
        process_stop(self._proc)   # SIGTERM to the master: fast shutdown of it and its worker
        self._log.close()
        shutil.rmtree(self.prefix, ignore_errors=True)
