"""Acceptance, end to end: real training of examples/breast-cancer into a SQLite MLflow store, then
`mlbot report / gates / promote / rollback / history` through the CLI boundary."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from mlflow import MlflowClient

from bot.adapters.mlflow.lock import Holder

from .conftest import Cli, Train

MODEL = "breast-cancer"
SHA1, SHA2, SHA3, SHA4 = ("1" * 40, "2" * 40, "3" * 40, "4" * 40)


def registry_state(uri: str) -> tuple[dict[str, str], int, dict[str, str]]:
    """Aliases, number of versions and ledger tags: everything a refused command must not change."""
    client = MlflowClient(uri)
    model = client.get_registered_model(MODEL)
    versions = len(client.search_model_versions(f"name = '{MODEL}'"))
    ledger = {k: v for k, v in model.tags.items() if k.startswith("mlbot.ledger.")}
    return {k: str(v) for k, v in model.aliases.items()}, versions, ledger


def test_promote_compare_promote_history_rollback(cli: Cli, train: Train, project: Path,
                                                   tracking_uri: str) -> None:
    p = ["--project", str(project)]
    assert cli("history", *p).out.strip() == "breast-cancer: nothing was promoted yet"
    typo = cli("history", "--model", "breast-cancr")
    assert (typo.code, typo.err.splitlines()[0]) == (2, "error: there is no registered model named breast-cancr")
    first = train(SHA1)
    done = cli("promote", *p, "--run", first, "--by", "alice", "--reason", "first model")
    assert done.code == 0, done.err
    assert done.out.strip() == "promoted breast-cancer v1 to production (first promotion)"

    better = train(SHA2, n_estimators=100)
    report = cli("report", *p, "--sha", SHA2[:8], "--format", "json")
    assert report.code == 0, report.err
    body = json.loads(report.out)
    assert body["candidate"] == {"run_id": better, "sha": SHA2, "pr": None}
    assert body["production"] == {"version": "1", "run_id": first}
    assert [m["name"] for m in body["metrics"]] == ["roc_auc", "accuracy", "f1"]
    for metric in body["metrics"]:
        # Δ of count ratios comes exactly from the counts, so it may differ from the float subtraction by an ulp
        assert metric["delta"] == pytest.approx(metric["candidate"] - metric["production"], abs=1e-12)
        assert metric["method"] == ("DeLong" if metric["name"] == "roc_auc" else "multinomial bootstrap")
        low, high = metric["ci"]
        assert low <= metric["delta"] <= high
    assert body["promotable"] is True

    gates = cli("gates", *p, "--sha", SHA2)
    assert gates.code == 0, gates.out + gates.err
    assert gates.out.splitlines()[-1] == "promotable"

    markdown = cli("report", *p, "--run", better)
    assert markdown.code == 0 and markdown.out.startswith("<!-- mlbot:report model=breast-cancer -->")

    done = cli("promote", *p, "--sha", SHA2, "--by", "bob", "--reason", "more trees")
    assert done.out.strip() == "promoted breast-cancer v2 to production (was v1)"
    aliases, versions, _ = registry_state(tracking_uri)
    assert aliases == {"production": "2", "previous-production": "1"} and versions == 2

    again = cli("promote", *p, "--sha", SHA2, "--by", "bob")
    assert (again.code, again.out.strip()) == (0, "breast-cancer v2 already is production; nothing changed")

    history = cli("history", *p, "--format", "json")
    entries = json.loads(history.out)["entries"]
    assert [(e["action"], e["version"], e["previous"], e["sha"], e["by"], e["reason"]) for e in entries] == [
        ("promote", "1", None, SHA1, "alice", "first model"), ("promote", "2", "1", SHA2, "bob", "more trees")]
    assert all(e["at"].endswith("+00:00") for e in entries)
    text = cli("history", *p).out.splitlines()
    assert SHA2[:10] in text[2] and "more trees" in text[2] and entries[1]["at"] in text[2]

    back = cli("rollback", *p, "--reason", "bad", "--by", "ops")
    assert back.code == 0, back.err
    assert back.out.strip() == "rolled back breast-cancer production to v1 (was v2): bad"
    aliases, _, _ = registry_state(tracking_uri)
    assert aliases == {"production": "1"}
    last = cli("history", *p, "--format", "json")
    rolled = json.loads(last.out)["entries"][-1]
    assert (rolled["action"], rolled["version"], rolled["previous"], rolled["by"], rolled["reason"]) == (
        "rollback", "1", "2", "ops", "bad")
    assert "rollback  v2 -> v1" in cli("history", "--model", MODEL).out


def test_a_worse_candidate_fails_the_gates_and_is_not_promoted(cli: Cli, train: Train, project: Path,
                                                               tracking_uri: str) -> None:
    p = ["--project", str(project)]
    assert cli("promote", *p, "--run", train(SHA1)).code == 0
    worse = train(SHA3, max_depth=1, n_estimators=1)

    gates = cli("gates", *p, "--run", worse)
    assert gates.code == 1
    lines = gates.out.splitlines()
    roc = next(line for line in lines if "roc_auc is not worse than production" in line)
    assert roc.startswith("FAIL") and "threshold -0.005" in roc and "observed -0." in roc
    floor = next(line for line in lines if "accuracy floor" in line)
    assert floor.startswith("FAIL") and "threshold 0.93" in floor and "observed 0.9035" in floor
    assert lines[-1] == "not promotable: 2 blocking gate(s) did not pass"
    as_json = cli("gates", *p, "--run", worse, "--format", "json")
    assert as_json.code == 1 and json.loads(as_json.out)["promotable"] is False

    before = registry_state(tracking_uri)
    refused = cli("promote", *p, "--run", worse)
    assert refused.code == 1
    assert refused.err.startswith("error: I did not promote breast-cancer: 2 blocking gate(s) did not pass")
    assert "next: improve the model and retrain, or override with --force --reason TEXT" in refused.err
    no_reason = cli("promote", *p, "--run", worse, "--force")
    assert no_reason.code == 2
    assert "error: --force needs --reason" in no_reason.err
    assert registry_state(tracking_uri) == before

    forced = cli("promote", *p, "--run", worse, "--force", "--reason", "incident hotfix", "--by", "carol")
    assert forced.code == 0, forced.err
    assert forced.out.strip() == "promoted breast-cancer v2 to production (was v1) (forced)"
    entry = json.loads(cli("history", *p, "--format", "json").out)["entries"][-1]
    assert (entry["forced"], entry["reason"], entry["by"]) == (True, "incident hotfix", "carol")
    assert entry["note"] == "gates overridden: roc_auc is not worse than production, accuracy floor"


def test_a_stale_baseline_is_refused(cli: Cli, train: Train, project: Path, tracking_uri: str) -> None:
    p = ["--project", str(project)]
    assert cli("promote", *p, "--run", train(SHA1)).code == 0
    second, third = train(SHA2, n_estimators=100), train(SHA3, n_estimators=60)  # both scored against v1
    assert cli("promote", *p, "--run", second).code == 0
    report = cli("report", *p, "--run", third, "--format", "text")
    assert "warning: production moved from v1 to v2 since this run was evaluated" in report.err
    before = registry_state(tracking_uri)
    stale = cli("promote", *p, "--run", third)
    assert stale.code == 1
    assert stale.err.splitlines()[0] == ("error: I did not promote breast-cancer: production moved from v1 to v2 "
                                          "since this run was evaluated. Production stays where it is.")
    assert "re-run training" in stale.err
    assert registry_state(tracking_uri) == before


def test_usage_errors(cli: Cli, project: Path, tmp_path: Path) -> None:
    p = ["--project", str(project)]
    both = cli("report", *p, "--run", "x", "--sha", "y")
    assert (both.code, both.err.splitlines()[0]) == (2, "error: pass exactly one of --run ID or --sha SHA")
    fmt = cli("gates", *p, "--run", "x", "--format", "yaml")
    assert (fmt.code, fmt.err.splitlines()[0]) == (2, "error: --format 'yaml' is not one of text, json")
    unknown = cli("report", *p, "--sha", "abcdef0")
    assert unknown.code == 2 and "no finished run of commit abcdef0" in unknown.err
    no_reason = cli("rollback", *p)
    assert (no_reason.code, no_reason.err.splitlines()[0]) == (2, "error: a rollback needs a reason")
    no_project = cli("history", "--project", str(tmp_path / "nowhere"))
    assert no_project.code == 2 and "mlbot.yaml: file not found" in no_project.err
    (project / "policies" / "broken.yaml").write_text("gates:\n  - name: x\n    metric: roc_auc\n")
    broken = cli("gates", *p, "--run", "x")
    assert broken.code == 2 and "policies/broken.yaml: gates[0]" in broken.err


def test_two_promotions_at_once_leave_a_consistent_registry(cli: Cli, train: Train, project: Path,
                                                            tracking_uri: str, tmp_path: Path) -> None:
    p = ["--project", str(project)]
    # Only an absolute gate: both candidates pass it, so what decides between them is the registry.
    (project / "policies" / "gates.yaml").write_text("gates:\n  - {name: floor, metric: accuracy, min: 0.9}\n")
    assert cli("promote", *p, "--run", train(SHA1)).code == 0
    candidates = [train(SHA2, n_estimators=100), train(SHA4, n_estimators=80)]  # both scored against v1
    mlbot = str(Path(sys.executable).parent / "mlbot")
    procs = [subprocess.Popen([mlbot, "promote", *p, "--run", run, "--by", f"p{i}"], cwd=tmp_path,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for i, run in enumerate(candidates)]
    results = [(proc.wait(timeout=240), proc.stdout.read(), proc.stderr.read())  # type: ignore[union-attr]
               for proc in procs]
    codes = sorted(code for code, _, _ in results)
    assert codes == [0, 1], results
    winner = next(i for i, (code, _, _) in enumerate(results) if code == 0)
    loser_err = results[1 - winner][2]
    assert "error: I did not promote breast-cancer: production moved from v1 to v2 since this run was " \
           "evaluated" in loser_err
    aliases, versions, _ = registry_state(tracking_uri)
    assert aliases == {"production": "2", "previous-production": "1"}
    assert versions == 2  # the refused candidate was never registered
    client = MlflowClient(tracking_uri)
    assert client.get_model_version(MODEL, "2").run_id == candidates[winner]
    entries = json.loads(cli("history", *p, "--format", "json").out)["entries"]
    assert [(e["seq"], e["version"], e["previous"], e["run_id"]) for e in entries][1:] == [
        (2, "2", "1", candidates[winner])]
    tags = client.get_registered_model(MODEL).tags
    assert Holder.parse(tags["mlbot.lock"]).owner == ""  # released; the tag keeps the last fencing token
    assert not [k for k in tags if k.startswith("mlbot.intent.")]  # both moves finished or were dropped
