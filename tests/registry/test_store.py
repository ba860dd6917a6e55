"""The registry adapter against a real MLflow SQLite store: promote, stale baseline, rollback, ledger."""

from __future__ import annotations

from pathlib import Path

import pytest
from mlflow import MlflowClient

from bot.adapters.mlflow.registry import Registry
from bot.core.errors import NotFound, PromotionRefused, StaleBaseline, UsageError

from .conftest import MODEL, LogRun


def aliases(client: MlflowClient) -> dict[str, str]:
    return {k: str(v) for k, v in client.get_registered_model(MODEL).aliases.items()}


def test_first_promotion_registers_tags_and_records(registry: Registry, client: MlflowClient,
                                                     log_run: LogRun) -> None:
    run = log_run("a" * 40, pr=7)
    done = registry.promote(MODEL, run, by="alice", reason="first model")
    assert (done.version, done.previous, done.changed) == ("1", None, True)
    assert aliases(client) == {"production": "1"}
    tags = client.get_model_version(MODEL, "1").tags
    assert tags["mlbot.status"] == "production"
    assert tags["mlbot.sha"] == "a" * 40
    assert tags["mlbot.pr"] == "7"
    assert tags["mlbot.promoted_by"] == "alice"
    assert tags["mlbot.reason"] == "first model"
    assert tags["mlbot.forced"] == "false"
    assert "mlbot.replaced" not in tags
    [entry] = registry.history(MODEL)
    assert (entry.seq, entry.action, entry.version, entry.previous, entry.by, entry.pr) == (
        1, "promote", "1", None, "alice", 7)


def test_promoting_the_same_run_twice_reuses_the_version(registry: Registry, client: MlflowClient,
                                                          log_run: LogRun) -> None:
    run = log_run("a" * 40)
    registry.promote(MODEL, run, by="alice")
    again = registry.promote(MODEL, run, by="alice")
    assert (again.version, again.changed) == ("1", False)
    assert len(client.search_model_versions(f"name = '{MODEL}'")) == 1
    assert len(registry.history(MODEL)) == 1


def test_same_sha_and_cache_key_reuses_an_earlier_version(registry: Registry, client: MlflowClient,
                                                          log_run: LogRun) -> None:
    first = log_run("a" * 40, key="same")
    registry.promote(MODEL, first, by="alice")
    registry.promote(MODEL, log_run("b" * 40, baseline="1"), by="alice")
    rerun = log_run("a" * 40, baseline="2", key="same")
    done = registry.promote(MODEL, rerun, by="alice", reason="back to a")
    assert (done.version, done.previous) == ("1", "2")
    assert len(client.search_model_versions(f"name = '{MODEL}'")) == 2


def test_second_promotion_moves_alias_and_keeps_the_previous(registry: Registry, client: MlflowClient,
                                                              log_run: LogRun) -> None:
    registry.promote(MODEL, log_run("a" * 40), by="alice")
    done = registry.promote(MODEL, log_run("b" * 40, baseline="1"), by="bob", reason="better")
    assert (done.version, done.previous) == ("2", "1")
    assert aliases(client) == {"production": "2", "previous-production": "1"}
    assert client.get_model_version(MODEL, "1").tags["mlbot.status"] == "replaced"
    assert client.get_model_version(MODEL, "2").tags["mlbot.replaced"] == "1"
    assert [(e.action, e.version, e.previous) for e in registry.history(MODEL)] == [
        ("promote", "1", None), ("promote", "2", "1")]


def test_stale_baseline_is_refused_and_nothing_moves(registry: Registry, client: MlflowClient,
                                                     log_run: LogRun) -> None:
    registry.promote(MODEL, log_run("a" * 40), by="alice")
    registry.promote(MODEL, log_run("b" * 40, baseline="1"), by="alice")
    stale = log_run("c" * 40, baseline="1")
    with pytest.raises(StaleBaseline) as refused:
        registry.promote(MODEL, stale, by="alice")
    assert refused.value.message == "production moved from v1 to v2 since this run was evaluated"
    assert refused.value.hint and "re-run training" in refused.value.hint
    assert aliases(client)["production"] == "2"
    assert len(client.search_model_versions(f"name = '{MODEL}'")) == 2
    assert len(registry.history(MODEL)) == 2


def test_a_candidate_trained_before_any_production_is_stale_once_one_exists(
        registry: Registry, log_run: LogRun) -> None:
    first, second = log_run("a" * 40), log_run("b" * 40)
    registry.promote(MODEL, first, by="alice")
    with pytest.raises(StaleBaseline, match="from no production model to v1"):
        registry.promote(MODEL, second, by="alice")


def test_force_allows_a_stale_baseline_and_records_it(registry: Registry, client: MlflowClient,
                                                      log_run: LogRun) -> None:
    first, second = log_run("a" * 40), log_run("b" * 40)
    registry.promote(MODEL, first, by="alice")
    done = registry.promote(MODEL, second, by="carol", reason="hotfix", force=True)
    assert done.version == "2"
    entry = registry.history(MODEL)[-1]
    assert entry.forced and entry.reason == "hotfix"
    assert "production moved from no production model to v1" in entry.note
    assert client.get_model_version(MODEL, "2").tags["mlbot.forced"] == "true"


def test_rollback_walks_back_through_promotions(registry: Registry, client: MlflowClient,
                                                log_run: LogRun) -> None:
    registry.promote(MODEL, log_run("a" * 40), by="alice")
    registry.promote(MODEL, log_run("b" * 40, baseline="1"), by="alice")
    registry.promote(MODEL, log_run("c" * 40, baseline="2"), by="alice")
    back = registry.rollback(MODEL, by="ops", reason="bad latency")
    assert (back.version, back.previous) == ("2", "3")
    assert aliases(client) == {"production": "2", "previous-production": "1"}
    assert client.get_model_version(MODEL, "3").tags["mlbot.status"] == "rolled-back"
    assert client.get_model_version(MODEL, "3").tags["mlbot.rollback_reason"] == "bad latency"
    registry.rollback(MODEL, by="ops", reason="still bad")
    assert aliases(client) == {"production": "1"}
    with pytest.raises(PromotionRefused, match="no earlier promoted version"):
        registry.rollback(MODEL, by="ops", reason="again")
    history = registry.history(MODEL)
    assert [(e.action, e.version, e.previous, e.reason) for e in history[3:]] == [
        ("rollback", "2", "3", "bad latency"), ("rollback", "1", "2", "still bad")]


def test_rollback_to_a_named_version(registry: Registry, client: MlflowClient, log_run: LogRun) -> None:
    registry.promote(MODEL, log_run("a" * 40), by="alice")
    registry.promote(MODEL, log_run("b" * 40, baseline="1"), by="alice")
    registry.promote(MODEL, log_run("c" * 40, baseline="2"), by="alice")
    back = registry.rollback(MODEL, by="ops", reason="pin", to="v1")
    assert (back.version, back.previous) == ("1", "3")
    assert aliases(client)["production"] == "1"


def test_rollback_refusals(registry: Registry, client: MlflowClient, log_run: LogRun,
                           tmp_path: Path) -> None:
    with pytest.raises(NotFound, match="no registered model named bc"):
        registry.rollback(MODEL, by="ops", reason="x")
    registry.promote(MODEL, log_run("a" * 40), by="alice")
    never = client.create_model_version(MODEL, source=str(tmp_path), run_id=None)
    with pytest.raises(PromotionRefused, match=f"v{never.version} of bc was never promoted"):
        registry.rollback(MODEL, by="ops", reason="x", to=str(never.version))
    with pytest.raises(PromotionRefused, match="v1 already is production"):
        registry.rollback(MODEL, by="ops", reason="x", to="1")
    with pytest.raises(UsageError, match="needs a reason"):
        registry.rollback(MODEL, by="ops", reason=" ")
    with pytest.raises(UsageError, match="is not a model version"):
        registry.rollback(MODEL, by="ops", reason="x", to="latest")
    assert aliases(client) == {"production": "1"}


def test_unknown_run_and_model(registry: Registry) -> None:
    with pytest.raises(NotFound, match="no MLflow run 0123"):
        registry.promote(MODEL, "0123", by="alice")
    with pytest.raises(NotFound, match="no registered model named nope"):
        registry.history("nope")
    assert registry.production("nope") is None
