"""`kill -9` at every step of a promotion and a rollback, then recover: the registry agrees with itself.

Each case runs the move in a subprocess that SIGKILLs itself right after one step, leaving the
lease and the intent behind as a real crash would; then `recover` (what a worker does at start)
and the next promotion must need no manual step.
"""

from __future__ import annotations

import itertools
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from mlflow import MlflowClient
from sklearn.linear_model import LogisticRegression

from bot.adapters.mlflow import journal, ledger
from bot.adapters.mlflow.lock import LOCK_TAG, Holder
from bot.adapters.mlflow.registry import PREVIOUS_ALIAS, Registry

ROOT = Path(__file__).resolve().parents[2]
NAMES = itertools.count()
STEPS = ["register", "intent", "alias", "version-tags", "ledger", "previous-alias", "done"]
MOVED = STEPS.index("alias")  # from this step on, the alias had moved when the process died


LogRun = Callable[..., str]


@pytest.fixture(scope="module")
def tracking_uri(tmp_path_factory: pytest.TempPathFactory, migrated_store: Path) -> str:
    """One store for the module (opening a fresh one costs seconds); each test has a model of its own."""
    path = tmp_path_factory.mktemp("crash") / "mlflow.db"
    shutil.copyfile(migrated_store, path)
    return f"sqlite:///{path}"


@pytest.fixture(scope="module")
def client(tracking_uri: str) -> MlflowClient:
    return MlflowClient(tracking_uri)


@pytest.fixture
def model() -> str:
    return f"churn{next(NAMES)}"


@pytest.fixture
def registry(client: MlflowClient, tracking_uri: str, tmp_path: Path) -> Registry:
    return Registry(client, tracking_uri=tracking_uri, lock_dir=tmp_path / "locks", lock_settle=0.02)


@pytest.fixture
def log_run(client: MlflowClient, tracking_uri: str, model: str, tmp_path: Path) -> LogRun:
    """Log a finished run of `model` with a tiny logged model; return its run id."""
    import mlflow

    mlflow.set_tracking_uri(tracking_uri)
    experiment = client.create_experiment(model, artifact_location=(tmp_path / "artifacts").as_uri())
    features = np.random.default_rng(0).random((30, 3))
    fitted = LogisticRegression().fit(features, features[:, 0] > 0.5)

    def log(sha: str, *, baseline: str | None = None, pr: int | None = None) -> str:
        tags = {"mlbot.sha": sha, "mlbot.model": model, "mlbot.cache_key": "k", "mlbot.status": "finished",
                **({"mlbot.baseline_version": baseline} if baseline else {}), **({"mlbot.pr": str(pr)} if pr else {})}
        with mlflow.start_run(experiment_id=experiment, tags=tags) as run:
            mlflow.sklearn.log_model(fitted, name="model", serialization_format="cloudpickle",
                                     pip_requirements=["scikit-learn"])
        return str(run.info.run_id)

    return log


def crash(tracking_uri: str, lock_dir: Path, model: str, action: str, target: str, step: str) -> None:
    """Run the move in a subprocess that kills itself with SIGKILL right after `step`."""
    done = subprocess.run([sys.executable, "-m", "tests.reliability.promote_proc", tracking_uri, str(lock_dir), model,
                           action, target, step], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == -signal.SIGKILL, done.stderr[-2000:]


def assert_consistent(client: MlflowClient, model: str) -> list[ledger.LedgerEntry]:
    """Alias, previous-production, version statuses and ledger all tell the same story; no move half-done."""
    registered = client.get_registered_model(model)
    tags = registered.tags or {}
    entries = ledger.read(model, tags)
    stack = ledger.production_stack(entries)
    aliases = {k: str(v) for k, v in (registered.aliases or {}).items()}
    assert aliases.get("production") == stack[-1] == entries[-1].version
    assert aliases.get(PREVIOUS_ALIAS) == (stack[-2] if len(stack) >= 2 else None)
    statuses = {str(v.version): (v.tags or {}).get("mlbot.status") for v in
                client.search_model_versions(f"name = '{model}'")}
    assert statuses[stack[-1]] == "production"
    assert [v for v, s in statuses.items() if s == "production"] == [stack[-1]]
    assert all(i.registry_done for i in journal.read(model, tags))
    assert [e.seq for e in entries] == list(range(1, len(entries) + 1))  # no entry lost or written twice
    return entries


@pytest.fixture
def lock_dir(tmp_path: Path) -> Path:
    return tmp_path / "locks"


# Each case costs a fresh Python with mlflow (seconds): the two sides of the alias run by default, the
# other steps with the slow flows (`make test` runs them all).
EVERY_STEP = [step if step in ("intent", "alias") else pytest.param(step, marks=pytest.mark.slow) for step in STEPS]


@pytest.mark.parametrize("step", EVERY_STEP)
def test_a_promotion_killed_after_any_step_is_completed_or_undone_by_recover(
    step: str, client: MlflowClient, registry: Registry, log_run: LogRun, tracking_uri: str, lock_dir: Path,
    model: str,
) -> None:
    registry.promote(model, log_run("1" * 40), by="alice", reason="first")
    candidate = log_run("2" * 40, baseline="1", pr=2)
    crash(tracking_uri, lock_dir, model, "promote", candidate, step)
    assert Holder.parse(client.get_registered_model(model).tags[LOCK_TAG]).owner != ""  # type: ignore[union-attr]

    owed = registry.recover(model)  # takes the dead process's lease over at once (same machine)
    entries = assert_consistent(client, model)
    if STEPS.index(step) < MOVED:  # the alias never moved: the move is undone, the job re-decides
        assert owed == [] and [e.version for e in entries] == ["1"]
        again = registry.promote(model, candidate, by="alice", reason="merged #2", pr=2)
        assert again.changed and again.version == "2"
    else:  # it moved: completed, and GitHub's side of it is still owed, with what is needed to do it
        [intent] = owed
        assert (intent.seq, intent.version, intent.previous, intent.pr) == (2, "2", "1", 2)
        assert intent.pending == ["deployment", "comment"] and intent.details["ref"] == "abc123"
        assert [(e.version, e.previous, e.by) for e in entries] == [("1", None, "alice"), ("2", "1", "alice")]
        retried = registry.promote(model, candidate, by="alice", reason="merged #2", pr=2)  # the job runs again
        assert not retried.changed and retried.intent == intent  # so the caller finishes what is owed
        registry.mark_done(model, intent.seq, "deployment")
        assert registry.recover(model)[0].pending == ["comment"]
        registry.mark_done(model, intent.seq, "comment")
        assert registry.recover(model) == []
    assert_consistent(client, model)

    later = registry.promote(model, log_run("3" * 40, baseline="2", pr=3), by="bob", reason="merged #3", pr=3)
    assert (later.version, later.previous) == ("3", "2")  # the next promotion needs no manual step
    assert [e.version for e in assert_consistent(client, model)] == ["1", "2", "3"]
    assert not [k for k in client.get_registered_model(model).tags if k.startswith(journal.PREFIX)]


@pytest.mark.slow
@pytest.mark.parametrize("step", ["intent", "ledger"])
def test_a_rollback_killed_midway_ends_consistent_on_the_next_move(
    step: str, client: MlflowClient, registry: Registry, log_run: LogRun, tracking_uri: str, lock_dir: Path,
    model: str,
) -> None:
    registry.promote(model, log_run("1" * 40), by="alice", reason="first")
    registry.promote(model, log_run("2" * 40, baseline="1"), by="alice", reason="second")
    crash(tracking_uri, lock_dir, model, "rollback", "", step)
    # No explicit recover: the next move of the model finds the intent and settles it first.
    third = registry.promote(model, log_run("3" * 40, baseline="1" if STEPS.index(step) >= MOVED else "2"),
                             by="bob", reason="third")
    entries = assert_consistent(client, model)
    if STEPS.index(step) >= MOVED:
        assert [(e.action, e.version) for e in entries] == [("promote", "1"), ("promote", "2"), ("rollback", "1"),
                                                           ("promote", "3")]
        assert third.previous == "1"
    else:
        assert [(e.action, e.version) for e in entries] == [("promote", "1"), ("promote", "2"), ("promote", "3")]
        assert third.previous == "2"
