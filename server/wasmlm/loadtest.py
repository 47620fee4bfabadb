"""`wasmlm loadtest`: many concurrent clients fetching random byte ranges of the shards, for a fixed time.

Against --url, or else a `wasmlm serve` it starts on a free loopback port (a separate process, so client
and server do not share one interpreter). Prints requests/s, MB/s, latency percentiles and errors.
"""
import argparse
import asyncio
import random
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from .localserve import LocalServer
from .settings import Settings


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    bytes: int = 0
    errors: int = 0
    first_error: str = ""

    def error(self, message: str) -> None:
        self.errors += 1
        self.first_error = self.first_error or message


async def targets_list(http: httpx.AsyncClient) -> list[tuple[str, int]]:
    """(url, size) of every shard of every served model."""
    targets = []
    for model in (await http.get("/api/models")).raise_for_status().json():
        manifest = (await http.get(model["manifest"])).raise_for_status().json()
        targets += [(f"/chunks/{model['id']}/{s['file']}", s["encoded_size"]) for s in manifest["shards"]]
    if not targets:
        raise SystemExit("wasmlm loadtest: the server has no packed model (run `wasmlm setup-models`)")
    return targets


async def client_run(http, targets, deadline: float, max_range: int, tally: Tally, rng: random.Random) -> None:
    while time.monotonic() < deadline:
        url, size = rng.choice(targets)
        start = rng.randrange(size)
        end = min(size, start + rng.randint(1, max_range)) - 1
        t0 = time.monotonic()
        try:
            r = await http.get(url, headers={"Range": f"bytes={start}-{end}"})
        except httpx.HTTPError as e:
            tally.error(f"{url}: {type(e).__name__}: {e}")
            continue
        tally.latencies.append(time.monotonic() - t0)
        if r.status_code != 206 or len(r.content) != end - start + 1:
            tally.error(f"{url} bytes={start}-{end}: HTTP {r.status_code}, {len(r.content)} bytes")
        tally.bytes += len(r.content)


async def load_run(url: str, clients: int, seconds: float, max_range: int, seed: int) -> Tally:
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=60) as http:
        targets = await targets_list(http)
        tally = Tally()
        deadline = time.monotonic() + seconds
        await asyncio.gather(*(client_run(http, targets, deadline, max_range, tally, random.Random(seed + i))
                               for i in range(clients)))
        return tally


def report(tally: Tally, seconds: float, clients: int) -> str:
    lat = sorted(tally.latencies) or [0.0]
    q = statistics.quantiles(lat, n=100, method="inclusive") if len(lat) > 1 else lat * 99
    return (f"clients {clients}, {seconds:.1f} s: {len(lat) / seconds:.0f} requests/s, "
            f"{tally.bytes / seconds / 1e6:.1f} MB/s, latency p50 {q[49] * 1e3:.1f} ms, "
            f"p90 {q[89] * 1e3:.1f} ms, p99 {q[98] * 1e3:.1f} ms, errors {tally.errors}"
            + (f" (first: {tally.first_error})" if tally.errors else ""))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="wasmlm loadtest", description=__doc__.splitlines()[0])
    p.add_argument("--url", help="a running server (default: start one on loopback)")
    p.add_argument("--chunks", default=str(Settings().chunks), help="for the server it starts")
    p.add_argument("--clients", type=int, default=200)
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--max-range", type=int, default=1 << 20, help="longest range asked for, bytes")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)

    def run(url: str) -> Tally:
        return asyncio.run(load_run(url, args.clients, args.seconds, args.max_range, args.seed))

    if args.url:
        tally = run(args.url)
    else:
        try:
            server = LocalServer(Path(args.chunks), start_timeout_s=30, log_level="warning").start()
        except RuntimeError as e:
            raise SystemExit(f"wasmlm loadtest: {e}") from None
        try:
            tally = run(server.url)
        finally:
            server.stop()
    print(report(tally, args.seconds, args.clients))
    return 1 if tally.errors else 0


if __name__ == "__main__":
    sys.exit(main())
