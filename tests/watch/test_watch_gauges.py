"""The watch gauges: what the latest monitoring run of each watched model says, per repository of the book."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from bot.core.errors import Transient
from bot.core.types import Snooze
from bot.core.watch_report import TrendPoint, WatchSummary
from bot.ports import Context
from bot.service.telemetry import Telemetry
from bot.usecases.watch_gauges import read_watch_gauges
from tests.handlers.fakes import BOT, CONFIG, POLICY, FakeForge, FakeQueue, FakeTracker

NOW = 1_800_000_000.0
WATCHED = CONFIG + "watch: {data: /prod/*.csv, label: label}\n"
LABELS = (("repo", "acme/churn"), ("model", "churn"), ("alias", "production"))


def window(drift_share: float, *, healthy: bool = True, metric: float | None = 0.91,
           trend: tuple[TrendPoint, ...] = ()) -> WatchSummary:
    return WatchSummary("churn", "production", "3", "run-9", "/prod/day.csv", 500, healthy, drift_share, 4,
                        (), (), (), (), (), "roc_auc", metric, trend=trend)


@dataclass
class WatchTracker(FakeTracker):
    """The fake tracker with monitoring runs and snoozes of its own."""

    watches: dict[tuple[str, str, str], tuple[WatchSummary, float]] = field(default_factory=dict)
    snoozes: dict[tuple[str, str], Snooze] = field(default_factory=dict)
    down: bool = False

    def latest_watch(self, experiment: str, model: str, alias: str) -> tuple[WatchSummary, float] | None:
        if self.down:
            raise Transient("MLflow at http://mlflow is unreachable", dependency="MLflow")
        return self.watches.get((experiment, model, alias))

    def watch_snooze(self, model: str, alias: str) -> Snooze | None:
        return self.snoozes.get((model, alias))


@dataclass
class ForgeByRepo:
    """One fake forge per repository (the handler fakes serve any repository the same files)."""

    forges: dict[str, FakeForge]

    def __getattr__(self, name: str) -> Any:
        return lambda repo, *args: getattr(self.forges[repo], name)(repo, *args)


@dataclass
class Book:
    repos: list[str]

    def add(self, repo: str) -> None:
        self.repos.append(repo.lower())

    def since(self) -> dict[str, float]:
        return {repo: 0.0 for repo in self.repos}


def bot(tracker: WatchTracker, configs: dict[str, str]) -> Context:
    """A bot whose book holds each repository of `configs`, with that mlbot.yaml on main ("": none)."""
    forges = {repo: FakeForge(files={"policies/gates.yaml": POLICY} | ({"mlbot.yaml": config} if config else {}))
              for repo, config in configs.items()}
    return Context(forge=ForgeByRepo(forges), queue=FakeQueue(), tracker=tracker,  # type: ignore[arg-type]
                   bot_login=BOT, repositories=Book(sorted(forges)))


def test_a_watched_model_shows_its_latest_window() -> None:
    tracker = WatchTracker(watches={("churn", "churn", "production"): (window(0.25, healthy=False), NOW - 60)},
                           snoozes={("churn", "production"): Snooze(NOW + 3600, "maya")})
    read = read_watch_gauges(bot(tracker, {"acme/churn": WATCHED}), NOW)
    assert read.unread == frozenset()
    assert read.series == {"acme/churn": {
        "mlbot_watch_drift_share": {LABELS: 0.25},
        "mlbot_watch_healthy": {LABELS: 0.0},
        "mlbot_watch_last_run_timestamp_seconds": {LABELS: NOW - 60},
        "mlbot_watch_metric": {(*LABELS, ("metric", "roc_auc")): 0.91},
        "mlbot_watch_snoozed": {LABELS: 1.0},
    }}


def test_repositories_without_a_watch_show_nothing() -> None:
    tracker = WatchTracker(watches={("churn", "churn", "production"): (window(0.0), NOW)})
    read = read_watch_gauges(bot(tracker, {"acme/plain": CONFIG, "acme/none": ""}), NOW)
    assert read.series == {} and read.unread == frozenset()


def test_before_its_first_watch_a_model_shows_only_whether_it_is_snoozed() -> None:
    tracker = WatchTracker(snoozes={("churn", "production"): Snooze(NOW - 1, "maya")})  # ended a second ago
    read = read_watch_gauges(bot(tracker, {"acme/churn": WATCHED}), NOW)
    assert read.series == {"acme/churn": {"mlbot_watch_snoozed": {LABELS: 0.0}}}


def test_an_unlabelled_window_shows_the_metric_of_the_latest_labelled_one() -> None:
    trend = (TrendPoint("d1", 0.0, 0.93), TrendPoint("d2", 0.1, 0.88), TrendPoint("d3", 0.2, None))
    tracker = WatchTracker(watches={("churn", "churn", "production"): (window(0.2, metric=None, trend=trend), NOW)})
    series = read_watch_gauges(bot(tracker, {"acme/churn": WATCHED}), NOW).series["acme/churn"]
    assert series["mlbot_watch_metric"] == {(*LABELS, ("metric", "roc_auc")): 0.88}
    no_labels = replace(window(0.2, metric=None), trend=(TrendPoint("d1", 0.0, None),))
    tracker.watches[("churn", "churn", "production")] = (no_labels, NOW)
    unlabelled = read_watch_gauges(bot(tracker, {"acme/churn": WATCHED}), NOW).series["acme/churn"]
    assert "mlbot_watch_metric" not in unlabelled  # no window was ever labelled


def test_mlflow_down_keeps_the_last_values_shown_and_the_other_repositories_move_on() -> None:
    telemetry = Telemetry()
    tracker = WatchTracker(watches={("churn", "churn", "production"): (window(0.1), NOW)})
    ctx = bot(tracker, {"acme/churn": WATCHED, "acme/plain": CONFIG})
    telemetry.refresh_watch(read_watch_gauges(ctx, NOW))
    assert telemetry.watch_gauges()["mlbot_watch_drift_share"] == {LABELS: 0.1}

    tracker.down = True
    read = read_watch_gauges(ctx, NOW + 600)
    assert read.unread == {"acme/churn"}
    telemetry.refresh_watch(read)
    assert telemetry.watch_gauges()["mlbot_watch_drift_share"] == {LABELS: 0.1}

    tracker.down = False
    ctx.forge.forges["acme/churn"].files["mlbot.yaml"] = CONFIG  # the team stopped watching
    telemetry.refresh_watch(read_watch_gauges(ctx, NOW + 1200))
    assert telemetry.watch_gauges() == {}


def test_a_watch_judged_here_shows_at_once_until_the_next_round() -> None:
    telemetry = Telemetry()
    telemetry.record_watch("Acme/Churn", replace(window(0.4, healthy=False), snoozed_until=NOW + 60,
                                                 snoozed_by="maya"), ran_at=NOW)
    text = telemetry.render({}).decode()
    labels = 'alias="production",model="churn",repo="acme/churn"'
    assert f"mlbot_watch_drift_share{{{labels}}} 0.4" in text
    assert f"mlbot_watch_healthy{{{labels}}} 0.0" in text
    assert f"mlbot_watch_snoozed{{{labels}}} 1.0" in text
    assert 'mlbot_watch_metric{alias="production",metric="roc_auc",model="churn",repo="acme/churn"} 0.91' in text
    assert f"mlbot_watch_last_run_timestamp_seconds{{{labels}}} 1.8e+09" in text
