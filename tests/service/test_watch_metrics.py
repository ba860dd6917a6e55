"""/metrics over real HTTP shows the production watch per model, read from MLflow by the reconciler round.

Two `mlbot serve` apps share one MLflow store (on SQLite) and the sandbox GitHub: both show the
same values, and both follow a newer monitoring run and a lifted snooze on their next round.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from mlflow import MlflowClient
from prometheus_client.parser import text_string_to_metric_families

from bot.adapters.github.auth import TokenCredentials
from bot.adapters.github.client import GitHubForge
from bot.adapters.mlflow.tracker import MlflowTracker
from bot.adapters.queue import DurableQueue, open_queue
from bot.adapters.queue.repos import SqliteRepositories
from bot.core.types import Snooze
from bot.handlers import build_router
from bot.ports import Context
from bot.sandbox import SandboxServer
from bot.service.app import create_app
from bot.service.telemetry import Telemetry
from tests.handlers.fakes import CONFIG, POLICY
from tests.registry.test_watch_tracker import log_watch, summary
from tests.service.conftest import RunningServer, settings_for, wait_for

REPO, PLAIN = "acme/churn", "acme/plain"
WATCHED = CONFIG + "watch: {data: /prod/*.csv, label: label}\n"
SERIES = 'alias="production",model="churn",repo="acme/churn"'
Samples = dict[str, float]


def samples(text: str) -> Samples:
    """Every watch sample of a /metrics answer, as `name{labels}` → value."""
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name.startswith("mlbot_watch_"):
                labels = ",".join(f'{k}="{v}"' for k, v in sorted(sample.labels.items()))
                found[f"{sample.name}{{{labels}}}"] = sample.value
    return found


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Callable[[str], httpx.Client]]:
    """Start `mlbot serve` apps (one worker, a round a second) on the sandbox and one MLflow store."""
    opened: list[tuple[RunningServer, httpx.Client, GitHubForge, DurableQueue]] = []
    with SandboxServer(tmp_path / "sandbox") as sandbox:
        sandbox.github.create_repo(REPO, {"mlbot.yaml": WATCHED, "policies/gates.yaml": POLICY})
        sandbox.github.create_repo(PLAIN, {"mlbot.yaml": CONFIG, "policies/gates.yaml": POLICY})
        book = SqliteRepositories(tmp_path / "book.db")
        book.add(REPO)
        book.add(PLAIN)

        def start(name: str) -> httpx.Client:
            settings = settings_for(tmp_path, queue_url=f"sqlite:///{tmp_path / name}-queue.db", reconcile_interval=1.0)
            queue = open_queue(settings.queue_url, retry_delay=0.05)
            forge = GitHubForge(sandbox.api_url, TokenCredentials(sandbox.bot_token), bot_login="mlbot[bot]")
            tracker = MlflowTracker(settings.mlflow_tracking_uri)

            def context(q: DurableQueue) -> Context:
                return Context(forge=forge, queue=q, tracker=tracker, bot_login="mlbot[bot]", repositories=book)

            app = create_app(settings, queue=queue, router=build_router(), context_factory=context, workers=1,
                             telemetry=Telemetry())
            server = RunningServer(app).__enter__()
            client = httpx.Client(base_url=server.url, timeout=30)
            opened.append((server, client, forge, queue))
            return client

        yield start
        for server, client, forge, queue in reversed(opened):
            client.close()
            server.__exit__()
            forge.close()
            queue.close()


def test_every_server_shows_the_watch_as_mlflow_has_it_after_a_round(serve: Callable[[str], httpx.Client],
                                                                     tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"  # the store settings_for gives every app
    MlflowClient(uri).create_registered_model("churn")
    MlflowTracker(uri).snooze_watch("churn", "production", Snooze(time.time() + 86_400, "maya"))
    log_watch(uri, summary(0.5, healthy=False, model="churn"), started_ms=1_800_000_000_000)
    first, second = serve("first"), serve("second")

    expected = {f"mlbot_watch_drift_share{{{SERIES}}}": 0.5, f"mlbot_watch_healthy{{{SERIES}}}": 0.0,
                f"mlbot_watch_last_run_timestamp_seconds{{{SERIES}}}": 1_800_000_000.0,
                'mlbot_watch_metric{alias="production",metric="roc_auc",model="churn",repo="acme/churn"}': 0.97,
                f"mlbot_watch_snoozed{{{SERIES}}}": 1.0}
    for server in (first, second):
        shown = wait_for(lambda s=server: samples(s.get("/metrics").text), what="the watch gauges")
        assert shown == expected  # the repository without `watch:` shows nothing
        assert "mlbot_queue_depth" in server.get("/metrics").text  # beside the queue's gauges

    log_watch(uri, summary(0.0, model="churn"), started_ms=1_800_000_600_000)  # a healthy window, later
    MlflowTracker(uri).snooze_watch("churn", "production", None)
    for server in (first, second):
        wait_for(lambda s=server: samples(s.get("/metrics").text)[f"mlbot_watch_healthy{{{SERIES}}}"] == 1.0,
                 what="the next round")
        shown = samples(server.get("/metrics").text)
        assert shown[f"mlbot_watch_drift_share{{{SERIES}}}"] == 0.0
        assert shown[f"mlbot_watch_snoozed{{{SERIES}}}"] == 0.0
        assert shown[f"mlbot_watch_last_run_timestamp_seconds{{{SERIES}}}"] == 1_800_000_600.0
