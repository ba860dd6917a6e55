"""`watch:` in mlbot.yaml, the cron schedule, and what `mlbot init` writes for the watch."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from bot.core.config import parse_project
from bot.core.cron import parse_cron
from bot.core.errors import ConfigError
from bot.scaffold import ProjectSpec
from bot.scaffold.config import render_config
from bot.scaffold.workflows import render_watch_workflow
from tests.actions.lint import actionlint, jobs_without_permissions, load, unpinned_uses

BASE = ("model: m\ntask: classification\ndata: {train: a.csv, eval: b.csv, target: y}\n"
        "train: {estimator: sklearn.linear_model.LogisticRegression}\n")


def problems(watch: str) -> str:
    with pytest.raises(ConfigError) as caught:
        parse_project(BASE + watch)
    return str(caught.value)


def test_a_watch_section_with_defaults() -> None:
    watch = parse_project(BASE + 'watch: {data: "/srv/prod/*.parquet"}').watch
    assert watch is not None
    assert (watch.data, watch.command, watch.label, watch.schedule, watch.trend, watch.close_after) == (
        "/srv/prod/*.parquet", None, None, "0 6 * * *", 8, 2)


def test_no_watch_section_means_no_watch() -> None:
    assert parse_project(BASE).watch is None


@pytest.mark.parametrize(("watch", "message"), [
    ("watch: {label: y}", "mlbot.yaml: watch: set exactly one of watch.data"),
    ("watch: {data: x, command: y}", "set exactly one of watch.data"),
    ('watch: {data: x, schedule: "0 6 * *"}', "watch.schedule: a cron schedule has 5 fields"),
    ('watch: {data: x, schedule: "61 * * * *"}', "watch.schedule: minute '61' is outside 0-59"),
    ('watch: {data: x, schedule: "0 6 * * funday"}', "watch.schedule: 'funday' is not a number"),
    ("watch: {data: x, trend: 1}", "watch.trend: must be greater than or equal to 2"),
    ("watch: {data: x, close_afer: 3}", "watch.close_afer: unknown key; did you mean 'close_after'?"),
])
def test_watch_problems_name_the_key(watch: str, message: str) -> None:
    assert message in problems(watch)


@pytest.mark.parametrize(("cron", "moment", "fires"), [
    ("0 6 * * *", datetime(2026, 12, 6, 6, 0), True),
    ("0 6 * * *", datetime(2026, 12, 6, 6, 1), False),
    ("*/15 * * * *", datetime(2026, 12, 6, 13, 45), True),
    ("0 6 * * mon-fri", datetime(2026, 12, 6, 6, 0), False),  # a Sunday
    ("0 6 * * 0", datetime(2026, 12, 6, 6, 0), True),
    ("0 6 * * 7", datetime(2026, 12, 6, 6, 0), True),
    ("0 0 1 jan,jul *", datetime(2026, 7, 1, 0, 0), True),
])
def test_cron_matches(cron: str, moment: datetime, fires: bool) -> None:
    assert parse_cron(cron).matches(moment) is fires


def test_init_writes_a_commented_watch_example_that_parses_when_uncommented() -> None:
    spec = ProjectSpec("m", "classification", "data/train.csv", "data/eval.csv", "label", ["a"],
                       ["roc_auc"], ["mlbot.yaml"])
    text = render_config(spec)
    assert parse_project(text).watch is None
    lines = text.splitlines()
    start = lines.index("# watch:")
    uncommented = [line[2:] for line in lines[start:] if not line.startswith("#   # ")]
    watch = parse_project("\n".join(lines[:start] + uncommented) + "\n").watch
    assert watch is not None and watch.label == "label" and watch.refresh == "python refresh_data.py"


def test_the_watch_workflow_is_pinned_scheduled_and_passes_actionlint(tmp_path: Path) -> None:
    path = tmp_path / "mlbot-watch.yml"
    path.write_text(render_watch_workflow("30 5 * * 1", spec="mlbot-gitops==1.2.3"))
    doc = load(path)
    assert doc["on"]["schedule"] == [{"cron": "30 5 * * 1"}]
    assert "mlbot-gitops==1.2.3" in path.read_text() and "MLBOT_VERSION" not in path.read_text()
    assert doc["jobs"]["watch"]["permissions"] == {"contents": "read", "issues": "write"}
    assert doc["jobs"]["watch"]["steps"][-1]["run"] == "mlbot watch --post"
    # the bot's /retrain in the watch issue dispatches it with `refresh`: the refresh job opens the pull request
    assert set(doc["on"]["workflow_dispatch"]["inputs"]) == {"refresh", "requested_by"}
    assert "inputs.refresh == ''" in doc["jobs"]["watch"]["if"]
    assert "inputs.refresh != ''" in doc["jobs"]["refresh"]["if"]
    assert doc["jobs"]["refresh"]["permissions"] == {"contents": "write", "pull-requests": "write", "issues": "write"}
    assert doc["jobs"]["refresh"]["steps"][-1]["run"].startswith('mlbot watch --refresh "$ISSUE"')
    assert unpinned_uses(doc) == [] and jobs_without_permissions(doc) == []
    assert actionlint([path]) == []
