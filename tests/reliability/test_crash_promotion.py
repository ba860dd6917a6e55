"""`kill -9` at every step of a promotion and a rollback, then recover: the registry agrees with itself.

Each case runs the move in a subprocess that SIGKILLs itself right after one step, leaving the
lease and the intent behind as a real crash would; then `recover` (what a worker does at start)
and the next promotion must need no manual step.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest
from mlflow import MlflowClient

from bot.adapters.mlflow import journal, ledger
from bot.adapters.mlflow.lock import LOCK_TAG, Holder
from bot.adapters.mlflow.registry import PREVIOUS_ALIAS, Registry
from tests.registry.conftest import MODEL, LogRun

ROOT = Path(__file__).resolve().parents[2]
STEPS = ["register", "intent", "alias", "version-tags", "ledger", "previous-alias", "done"]
MOVED = STEPS.index("alias")  # from this step on, the alias had moved when the process died


def crash(tracking_uri: str, lock_dir: Path, action: str, target: str, step: str) -> None:
    """Run the move in a subprocess that kills itself with SIGKILL right after `step`."""
    done = subprocess.run([sys.executable, "-m", "tests.reliability.promote_proc", tracking_uri, str(lock_dir), MODEL,
                           action, target, step], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == -signal.SIGKILL, done.stderr[-2000:]


def assert_consistent(client: MlflowClient) -> list[ledger.LedgerEntry]:
    """Alias, previous-production, version statuses and ledger all tell the same story; no move half-done."""
    registered = client.get_registered_model(MODEL)
    tags = registered.tags or {}
    entries = ledger.read(MODEL, tags)
    stack = ledger.production_stack(entries)
    aliases = {k: str(v) for k, v in (registered.aliases or {}).items()}
    assert aliases.get("production") == stack[-1] == entries[-1].version
    assert aliases.get(PREVIOUS_ALIAS) == (stack[-2] if len(stack) >= 2 else None)
    statuses = {str(v.version): (v.tags or {}).get("mlbot.status") for v in
                client.search_model_versions(f"name = '{MODEL}'")}
    assert statuses[stack[-1]] == "production"
    assert [v for v, s in statuses.items() if s == "production"] == [stack[-1]]
    assert all(i.registry_done for i in journal.read(MODEL, tags))
    assert [e.seq for e in entries] == list(range(1, len(entries) + 1))  # no entry lost or written twice
    return entries


@pytest.fixture
def lock_dir(tmp_path: Path) -> Path:
    return tmp_path / "locks"


@pytest.mark.parametrize("step", STEPS)
def test_a_promotion_killed_after_any_step_is_completed_or_undone_by_recover(
    step: str, client: MlflowClient, registry: Registry, log_run: LogRun, tracking_uri: str, lock_dir: Path,
) -> None:
    registry.promote(MODEL, log_run("1" * 40), by="alice", reason="first")
    candidate = log_run("2" * 40, baseline="1", pr=2)
    crash(tracking_uri, lock_dir, "promote", candidate, step)
    assert Holder.parse(client.get_registered_model(MODEL).tags[LOCK_TAG]).owner != ""  # type: ignore[union-attr]

    owed = registry.recover(MODEL)  # takes the dead process's lease over at once (same machine)
    entries = assert_consistent(client)
    if STEPS.index(step) < MOVED:  # the alias never moved: the move is undone, the job re-decides
        assert owed == [] and [e.version for e in entries] == ["1"]
        again = registry.promote(MODEL, candidate, by="alice", reason="merged #2", pr=2)
        assert again.changed and again.version == "2"
    else:  # it moved: completed, and GitHub's side of it is still owed, with what is needed to do it
        [intent] = owed
        assert (intent.seq, intent.version, intent.previous, intent.pr) == (2, "2", "1", 2)
        assert intent.pending == ["deployment", "comment"] and intent.details["ref"] == "abc123"
        assert [(e.version, e.previous, e.by) for e in entries] == [("1", None, "alice"), ("2", "1", "alice")]
        retried = registry.promote(MODEL, candidate, by="alice", reason="merged #2", pr=2)  # the job runs again
        assert not retried.changed and retried.intent == intent  # so the caller finishes what is owed
        registry.mark_done(MODEL, intent.seq, "deployment")
        assert registry.recover(MODEL)[0].pending == ["comment"]
        registry.mark_done(MODEL, intent.seq, "comment")
        assert registry.recover(MODEL) == []
    assert_consistent(client)

    later = registry.promote(MODEL, log_run("3" * 40, baseline="2", pr=3), by="bob", reason="merged #3", pr=3)
    assert (later.version, later.previous) == ("3", "2")  # the next promotion needs no manual step
    assert [e.version for e in assert_consistent(client)] == ["1", "2", "3"]
    assert not [k for k in client.get_registered_model(MODEL).tags if k.startswith(journal.PREFIX)]


@pytest.mark.parametrize("step", ["intent", "ledger"])
def test_a_rollback_killed_midway_ends_consistent_on_the_next_move(
    step: str, client: MlflowClient, registry: Registry, log_run: LogRun, tracking_uri: str, lock_dir: Path,
) -> None:
    registry.promote(MODEL, log_run("1" * 40), by="alice", reason="first")
    registry.promote(MODEL, log_run("2" * 40, baseline="1"), by="alice", reason="second")
    crash(tracking_uri, lock_dir, "rollback", "", step)
    # No explicit recover: the next move of the model finds the intent and settles it first.
    third = registry.promote(MODEL, log_run("3" * 40, baseline="1" if STEPS.index(step) >= MOVED else "2"),
                             by="bob", reason="third")
    entries = assert_consistent(client)
    if STEPS.index(step) >= MOVED:
        assert [(e.action, e.version) for e in entries] == [("promote", "1"), ("promote", "2"), ("rollback", "1"),
                                                           ("promote", "3")]
        assert third.previous == "1"
    else:
        assert [(e.action, e.version) for e in entries] == [("promote", "1"), ("promote", "2"), ("promote", "3")]
        assert third.previous == "2"
