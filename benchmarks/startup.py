"""The webhook process at rest: `mlbot serve` start time and memory, today against an earlier commit.

    .venv/bin/python benchmarks/startup.py [--baseline a80c35d] [--runs 3] [--calls]

For each tree (this checkout, and `--baseline` exported with `git archive` into a temporary
directory), start `mlbot serve` with its default in-process workers, wait until `/healthz`
answers, read the process's resident memory (VmRSS) and the modules it loaded, and stop it. Both
run side by side in one run, alternating, on the same machine (the machine is shared: compare the
ratio, not the absolute figures). `--calls` also plays one pull request through the local stack and
prints how many GitHub calls it took to reach the sticky report and to update it after a review.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def heavy_modules(pid: int) -> int:
    """How many sklearn/pandas/scipy/mlflow modules the process mapped (their shared objects)."""
    maps = Path(f"/proc/{pid}/maps").read_text()
    return sum(1 for lib in ("sklearn", "pandas", "scipy", "mlflow") if f"/{lib}/" in maps)


def start_once(tree: Path, workdir: Path) -> tuple[float, float, int]:
    """Seconds until /healthz answers, RSS in MB then, and which heavy libraries are loaded."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLBOT_")}
    env.update(PYTHONPATH=str(tree), MLBOT_WEBHOOK_SECRET="s", MLBOT_GITHUB_TOKEN="t",
               MLBOT_QUEUE_URL=f"sqlite:///{workdir / f'q{port}.db'}",
               MLFLOW_TRACKING_URI=f"sqlite:///{workdir / 'mlflow.db'}")
    code = "import sys; from bot.cli import main; main(sys.argv[1:])"
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", code, "serve", "--port", str(port)], env=env, cwd=workdir,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=0.5).status_code == 200:
                    break
            except httpx.TransportError:
                if proc.poll() is not None:
                    raise RuntimeError(f"mlbot serve from {tree} exited with {proc.returncode}") from None
                time.sleep(0.02)
        seconds = time.perf_counter() - started
        return seconds, rss_mb(proc.pid), heavy_modules(proc.pid)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(30)


def export(ref: str, into: Path) -> Path:
    """The tree of `ref`, as files (no checkout touched)."""
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", ref, "bot"], check=True, capture_output=True)
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive.stdout, check=True)
    return into


def count_calls() -> None:
    sys.path.insert(0, str(ROOT))
    from bot.demo.stack import LocalStack
    from tests.conftest import EXAMPLES
    from tests.flows.conftest import AUTHOR, BASELINE, BETTER, REPO, REVIEWER, example_files, with_params

    with tempfile.TemporaryDirectory() as tmp, LocalStack(Path(tmp) / "stack") as stack:
        github = stack.github
        github.create_repo(REPO, example_files(BASELINE))
        for login in (AUTHOR, REVIEWER):
            github.set_role(REPO, login, "write")
        log = github.record_exchanges()
        files = {"mlbot.yaml": with_params((EXAMPLES / "breast-cancer" / "mlbot.yaml").read_text(), BETTER)}
        github.push_commit(REPO, "better", files, "Try", author=AUTHOR)
        number = github.open_pull(REPO, "better", "main", "Better", AUTHOR)
        stack.settle()
        post = f"POST /repos/{REPO}/issues/{number}/comments"
        calls = [f"{e.method} {e.path}" for e in log]
        print(f"GitHub calls from pull_request.opened to the sticky report: {calls.index(post) + 1}")
        before = len(log)
        github.review(REPO, number, REVIEWER, "APPROVED")
        stack.settle()
        print(f"GitHub calls to update the report after a review: {len(log) - before}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", default="a80c35d", help="commit to compare with (before the redesign)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--calls", action="store_true", help="also count GitHub calls per report")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "old").mkdir()
        old = export(args.baseline, Path(tmp) / "old")
        trees = {"now": ROOT, args.baseline: old}
        figures: dict[str, list[tuple[float, float, int]]] = {name: [] for name in trees}
        for _ in range(args.runs):
            for name, tree in trees.items():  # alternate, so load on the machine hits both alike
                figures[name].append(start_once(tree, Path(tmp)))
        print(f"{'tree':<10} {'start s (median)':>17} {'RSS MB (median)':>16} {'heavy libs loaded':>18}")
        for name, runs in figures.items():
            print(f"{name:<10} {statistics.median(r[0] for r in runs):>17.2f} "
                  f"{statistics.median(r[1] for r in runs):>16.0f} {max(r[2] for r in runs):>18}")
        now, then = figures["now"], figures[args.baseline]
        start = statistics.median(r[0] for r in now) / statistics.median(r[0] for r in then)
        memory = statistics.median(r[1] for r in now) / statistics.median(r[1] for r in then)
        print(f"ratio now/{args.baseline}: start {start:.2f}, memory {memory:.2f}")
    if args.calls:
        count_calls()


if __name__ == "__main__":
    main()
