"""Throughput and latency of the durable `POST /webhook` against a bare endpoint on the same server.

    .venv/bin/python benchmarks/webhook.py [--requests 20000] [--connections 32] [--seconds 15]

One uvicorn process (uvloop + httptools, access log off, no in-process workers) serves both routes:
`/webhook` (verify HMAC, check JSON, durable SQLite enqueue, 202) and `/bare` (read the body, 202).
A raw asyncio HTTP/1.1 client with keep-alive connections drives each route at saturation with
signed 25 KB `pull_request` bodies (unique delivery ids), then `/webhook` at a steady 200/s.
Latency at the steady rate is measured from each request's scheduled send time, so queueing counts.
Targets (issue 4): durable ≥ 30 % of bare throughput; p99 < 20 ms at 200 deliveries/s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from fastapi import Request, Response

ROOT = Path(__file__).resolve().parent.parent
SECRET = "benchmark-secret"


def payload(size: int = 25 * 1024) -> bytes:
    """A pull_request.opened-shaped payload padded to `size` bytes."""
    base = {
        "action": "opened", "number": 7,
        "pull_request": {"number": 7, "title": "Tune the forest", "state": "open", "draft": False,
                         "user": {"login": "alice"}, "head": {"sha": "a" * 40, "ref": "tune",
                                                              "repo": {"full_name": "acme/churn"}},
                         "base": {"sha": "b" * 40, "ref": "main", "repo": {"full_name": "acme/churn"}},
                         "body": ""},
        "repository": {"full_name": "acme/churn"}, "sender": {"login": "alice"},
        "installation": {"id": 1},
    }
    pad = size - len(json.dumps(base).encode())
    base["pull_request"]["body"] = "x" * max(pad, 0)  # type: ignore[index]
    return json.dumps(base).encode()


def serve(port: int, workdir: str) -> None:
    """Run the server side: the real app plus a bare route, on one uvicorn."""
    import uvicorn

    from bot.service.app import create_app
    from bot.service.settings import Settings

    settings = Settings(webhook_secret=SECRET, queue_url=f"sqlite:///{workdir}/queue.db",
                        mlflow_tracking_uri=f"sqlite:///{workdir}/mlflow.db")
    app = create_app(settings, workers=0)

    app.post("/bare")(bare)  # a bare FastAPI endpoint on the same app, server and loop

    uvicorn.run(app, host="127.0.0.1", port=port, loop="uvloop", http="httptools", access_log=False,
                log_level="warning", lifespan="on")


async def bare(request: Request) -> Response:
    """Read the body and answer 202: the ceiling for any endpoint on this stack."""
    await request.body()
    return Response(b'{"status":"queued"}', status_code=202, media_type="application/json")


def request_bytes(path: str, body: bytes, delivery: str) -> bytes:
    from bot.core.events import sign

    head = (f"POST {path} HTTP/1.1\r\nhost: bench\r\ncontent-type: application/json\r\n"
            f"content-length: {len(body)}\r\nx-github-event: pull_request\r\n"
            f"x-github-delivery: {delivery}\r\nx-hub-signature-256: {sign(body, SECRET)}\r\n\r\n")
    return head.encode() + body


class Connection:
    """One keep-alive HTTP/1.1 connection that sends a request and reads the status line and body."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, port: int) -> Connection:
        reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=1 << 20)
        writer.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return cls(reader, writer)

    async def send(self, data: bytes) -> int:
        self.writer.write(data)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":", 1)[1])
        await self.reader.readexactly(length)
        return status

    def close(self) -> None:
        self.writer.close()


def summary(latencies: list[float]) -> tuple[float, float]:
    ordered = sorted(latencies)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return statistics.median(ordered) * 1000, p99 * 1000


async def saturate(port: int, path: str, body: bytes, total: int, connections: int, cap: float,
                   tag: str) -> tuple[float, list[float], int]:
    """Send up to `total` requests over `connections` (time-capped); return rate, latencies, non-2xx."""
    conns = [await Connection.open(port) for _ in range(connections)]
    counter, latencies, bad = iter(range(total)), [], 0
    deadline = time.perf_counter() + cap

    async def drive(conn: Connection) -> None:
        nonlocal bad
        for i in counter:
            if time.perf_counter() > deadline:
                return
            data = request_bytes(path, body, f"{tag}-{i}")
            started = time.perf_counter()
            status = await conn.send(data)
            latencies.append(time.perf_counter() - started)
            bad += not 200 <= status < 300

    started = time.perf_counter()
    await asyncio.gather(*(drive(c) for c in conns))
    elapsed = time.perf_counter() - started
    for c in conns:
        c.close()
    return len(latencies) / elapsed, latencies, bad


async def steady(port: int, body: bytes, rate: float, seconds: float, tag: str) -> tuple[list[float], int]:
    """Send `rate` requests a second for `seconds`; latency counts from each scheduled send time."""
    pool: asyncio.Queue[Connection] = asyncio.Queue()
    for _ in range(16):
        pool.put_nowait(await Connection.open(port))
    latencies, bad, tasks = [], 0, []
    start = time.perf_counter() + 0.1

    async def one(i: int, due: float) -> None:
        nonlocal bad
        conn = await pool.get()
        status = await conn.send(request_bytes("/webhook", body, f"{tag}-{i}"))
        latencies.append(time.perf_counter() - due)
        bad += not 200 <= status < 300
        pool.put_nowait(conn)

    for i in range(int(rate * seconds)):
        due = start + i / rate
        await asyncio.sleep(max(0.0, due - time.perf_counter()))
        tasks.append(asyncio.create_task(one(i, due)))
    await asyncio.gather(*tasks)
    while not pool.empty():
        pool.get_nowait().close()
    return latencies, bad


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU the server process used so far (Linux /proc; None elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def wait_ready(port: int, timeout: float = 60) -> None:
    deadline = time.perf_counter() + timeout
    while True:
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"GET /healthz HTTP/1.1\r\nhost: bench\r\n\r\n")
            if (await reader.readuntil(b"\r\n\r\n")).startswith(b"HTTP/1.1 200"):
                writer.close()
                return
        except OSError:
            if time.perf_counter() > deadline:
                raise
        await asyncio.sleep(0.1)


async def report_steady(port: int, body: bytes, args: argparse.Namespace, when: str) -> None:
    latencies, bad = await steady(port, body, args.rate, args.steady_seconds, when)
    p50, p99 = summary(latencies)
    print(f"  steady {args.rate:.0f}/s on /webhook ({when}): p50 {p50:.2f} ms  p99 {p99:.2f} ms  "
          f"({len(latencies)} requests, {bad} non-2xx; target p99 < 20 ms)")


async def run(args: argparse.Namespace, port: int, server_pid: int) -> None:
    await wait_ready(port)
    body = payload()
    await saturate(port, "/bare", body, 500, args.connections, 5, "warm-bare")  # warm up both paths
    await saturate(port, "/webhook", body, 500, args.connections, 5, "warm")
    await report_steady(port, body, args, "steady state")
    results: dict[str, float] = {}
    per_request: dict[str, float] = {}
    for name, path in (("bare", "/bare"), ("durable", "/webhook")):
        cpu_before = cpu_seconds(server_pid)
        rate, latencies, bad = await saturate(port, path, body, args.requests, args.connections,
                                              args.seconds, name)
        cpu_after = cpu_seconds(server_pid)
        p50, p99 = summary(latencies)
        results[name] = rate
        if cpu_before is not None and cpu_after is not None:
            per_request[name] = (cpu_after - cpu_before) / len(latencies)
        cpu = f"  server CPU {per_request[name] * 1e6:5.0f} µs/request" if name in per_request else ""
        print(f"{name:>8} /{path.strip('/'):<8} {rate:8.0f} req/s  p50 {p50:6.2f} ms  p99 {p99:6.2f} ms"
              f"  ({len(latencies)} requests, {bad} non-2xx){cpu}")
    ratio = results["durable"] / results["bare"]
    print(f"   ratio durable/bare {ratio:.2f}  (target >= 0.30; the machine's other load moves both)")
    if len(per_request) == 2:  # what one core could do: independent of the other load
        print(f"   by server CPU per request: {per_request['bare'] / per_request['durable']:.2f}")
    # Right after the burst SQLite is still checkpointing hundreds of MB of WAL: shown separately.
    await report_steady(port, body, args, "right after the saturation runs")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20000, help="requests per endpoint at saturation")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=15.0, help="time cap per saturation run")
    parser.add_argument("--rate", type=float, default=200.0, help="steady deliveries per second")
    parser.add_argument("--steady-seconds", type=float, default=10.0)
    parser.add_argument("--serve", nargs=2, metavar=("PORT", "DIR"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(int(args.serve[0]), args.serve[1])
        return
    import uvloop

    port = free_port()
    with tempfile.TemporaryDirectory() as workdir:
        server = subprocess.Popen([sys.executable, __file__, "--serve", str(port), workdir], cwd=ROOT,
                                  env={**os.environ, "PYTHONPATH": str(ROOT)})
        try:
            print(f"POST 25 KB signed pull_request bodies, {args.connections} connections, "
                  f"server pid {server.pid} (1 uvicorn process, uvloop + httptools, SQLite queue)")
            uvloop.run(run(args, port, server.pid))
        finally:
            server.terminate()
            server.wait(20)


if __name__ == "__main__":
    main()
