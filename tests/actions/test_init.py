"""`mlbot init` into a real git repository, checked by the project loader and actionlint."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pandas as pd
import pytest
import yaml

from bot import __version__
from bot.core.config import load_project
from bot.scaffold import default_policy, guess_task, render_workflow, split_rows

from .cli import run
from .lint import actionlint, jobs_without_permissions, load, unpinned_uses

FILES = ["data/train.csv", "data/eval.csv", "mlbot.yaml", "policies/default.yaml",
         ".github/workflows/mlbot-train.yml", ".gitignore"]


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file in the work tree (not .git) with its bytes."""
    files = (p for p in sorted(root.rglob("*")) if p.is_file())
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in files
            if p.relative_to(root).parts[0] != ".git"}


def test_init_scaffolds_a_project_that_check_and_actionlint_accept(
    repo: Path, breast_cancer_csv: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "init", str(repo), "--data", str(breast_cancer_csv), "--target", "label")
    assert (code, err) == (0, "")
    assert all((repo / f).is_file() for f in FILES)
    assert "455 training rows, 114 evaluation rows" in out
    assert "Next steps:" in out and "MLFLOW_TRACKING_URI" in out and "MLBOT_MODE" in out

    project = load_project(repo)
    config = project.config
    assert (config.model, config.task, config.data.target) == ("credit-model", "classification", "label")
    assert config.metrics == ["roc_auc", "accuracy", "f1"]
    assert (config.data.train, config.data.eval) == ("data/train.csv", "data/eval.csv")
    assert "mean radius" in (repo / "mlbot.yaml").read_text()  # the columns found are listed

    train, evaluation = pd.read_csv(repo / "data/train.csv"), pd.read_csv(repo / "data/eval.csv")
    original = pd.read_csv(breast_cancer_csv)
    assert len(train) + len(evaluation) == len(original) and len(evaluation) == 114
    rebuilt = pd.concat([train, evaluation]).sort_values(list(original.columns)).reset_index(drop=True)
    expected = original.sort_values(list(original.columns)).reset_index(drop=True)
    pd.testing.assert_frame_equal(rebuilt, expected)

    assert (repo / "policies/default.yaml").read_text() == default_policy()
    workflow = repo / ".github/workflows/mlbot-train.yml"
    assert workflow.read_text() == render_workflow("main")
    assert actionlint([workflow]) == []
    assert unpinned_uses(load(workflow)) == [] and jobs_without_permissions(load(workflow)) == []


def test_init_output_passes_mlbot_check(
    repo: Path, breast_cancer_csv: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(capsys, "init", str(repo), "--data", str(breast_cancer_csv), "--target", "label")[0] == 0
    code, out, err = run(capsys, "check", str(repo))
    if "No such command 'check'" in err:
        pytest.skip("`mlbot check` has not landed yet")
    assert code == 0, out + err


def test_a_second_init_changes_nothing_and_says_so(
    repo: Path, breast_cancer_csv: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run(capsys, "init", str(repo), "--data", str(breast_cancer_csv), "--target", "label")
    before = snapshot(repo)
    mtimes = {f: (repo / f).stat().st_mtime_ns for f in FILES}

    again = ["init", str(repo), "--data", str(breast_cancer_csv), "--target", "label"]
    for argv in (["init", str(repo)], again):
        code, out, err = run(capsys, *argv)
        assert (code, err) == (0, "")
        assert "Nothing changed: mlbot is already set up in" in out
        assert "Next steps" not in out
        assert snapshot(repo) == before
        assert {f: (repo / f).stat().st_mtime_ns for f in FILES} == mtimes


def test_init_keeps_edited_files_unless_forced(
    repo: Path, breast_cancer_csv: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run(capsys, "init", str(repo), "--data", str(breast_cancer_csv), "--target", "label")
    config = repo / "mlbot.yaml"
    edited = config.read_text().replace("n_estimators: 200", "n_estimators: 50")
    config.write_text(edited)

    code, out, _ = run(capsys, "init", str(repo), "--data", str(breast_cancer_csv), "--target", "label")
    assert code == 0
    assert "~ mlbot.yaml: kept — project configuration (exists and differs; --force overwrites it)" in out
    assert "Nothing changed" in out and config.read_text() == edited

    code, out, _ = run(capsys, "init", str(repo), "--data", str(breast_cancer_csv), "--target", "label",
                       "--force")
    assert code == 0
    assert "! mlbot.yaml: overwritten" in out and "n_estimators: 200" in config.read_text()


def test_init_guesses_regression_for_a_continuous_target(
    repo: Path, diabetes_csv: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "init", str(repo), "--data", str(diabetes_csv))
    assert code == 0
    assert "assumed the target column is 'target'" in out
    config = load_project(repo).config
    assert (config.task, config.metrics) == ("regression", ["rmse", "mae", "r2"])
    assert "RandomForestRegressor" in (repo / "mlbot.yaml").read_text()


def test_init_uses_given_eval_rows_inside_the_repo(
    repo: Path, breast_cancer_csv: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    frame = pd.read_csv(breast_cancer_csv)
    (repo / "data").mkdir()
    frame.iloc[:400].to_csv(repo / "data" / "fit.csv", index=False)
    frame.iloc[400:].to_csv(repo / "data" / "holdout.csv", index=False)
    code, _, _ = run(capsys, "init", str(repo), "--data", str(repo / "data/fit.csv"),
                     "--eval", str(repo / "data/holdout.csv"), "--target", "label")
    assert code == 0
    config = load_project(repo).config
    assert (config.data.train, config.data.eval) == ("data/fit.csv", "data/holdout.csv")
    assert not (repo / "data" / "train.csv").exists()


def test_init_promotes_on_the_repository_default_branch(
    tmp_path: Path, breast_cancer_csv: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = tmp_path / "legacy"
    subprocess.run(["git", "init", "-q", "-b", "master", str(repo)], check=True)
    assert run(capsys, "init", str(repo), "--data", str(breast_cancer_csv), "--target", "label")[0] == 0
    workflow = repo / ".github/workflows/mlbot-train.yml"
    assert load(workflow)["on"]["push"]["branches"] == ["master"]
    assert actionlint([workflow]) == []


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--target", "lable"], "error: {csv} has no column 'lable'\n  next: did you mean --target 'label'?\n"),
        (["--target", "LABEL"], "error: {csv} has no column 'LABEL'\n  next: did you mean --target 'label'?\n"),
        (["--target", "outcome"], "error: {csv} has no column 'outcome'\n  next: pass --target with one of its 31 "
                                  "columns: 'mean radius', 'mean texture', 'mean perimeter', 'mean area', "
                                  "'mean smoothness', 'mean compactness', 'mean concavity', 'mean concave points', "
                                  "… (23 more)\n"),
        (["--target", "label", "--data", "missing.csv"],
         "error: the data file missing.csv does not exist\n  next: pass an existing CSV or Parquet file\n"),
    ],
)
def test_init_explains_user_mistakes_without_touching_the_repo(
    repo: Path, breast_cancer_csv: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    code, _, err = run(capsys, "init", str(repo), "--data", str(breast_cancer_csv), *argv)
    assert code == 2
    assert err == message.format(csv=breast_cancer_csv)
    assert snapshot(repo) == {}


def test_init_without_data_in_a_fresh_repo_asks_for_it(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "init", str(repo))
    assert code == 2
    assert err == ("error: mlbot init needs your data to write mlbot.yaml\n"
                   "  next: run `mlbot init --data FILE --target COLUMN`\n")


@pytest.mark.parametrize(
    ("values", "task"),
    [
        (["yes", "no", "yes"], "classification"),
        ([0, 1, 1, 0], "classification"),
        ([True, False], "classification"),
        ([0.0, 1.0, 2.0, 1.0], "classification"),
        ([float(i) / 7 for i in range(100)], "regression"),
        (list(range(100)), "regression"),
    ],
)
def test_guess_task(values: list[object], task: str) -> None:
    assert guess_task(pd.Series(values)) == task


def test_the_split_is_deterministic_and_disjoint() -> None:
    frame = pd.DataFrame({"x": range(50), "y": [i % 2 for i in range(50)]})
    first, second = split_rows(frame), split_rows(frame)
    assert first[0].equals(second[0]) and first[1].equals(second[1])
    assert set(first[0].index).isdisjoint(first[1].index) and len(first[1]) == 10


def test_mlbot_yaml_is_valid_yaml_with_flow_lists(repo: Path, breast_cancer_csv: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    run(capsys, "init", str(repo), "--data", str(breast_cancer_csv), "--target", "label")
    doc = yaml.safe_load((repo / "mlbot.yaml").read_text())
    assert doc["train"]["inputs"] == ["data/", "mlbot.yaml"]
    assert doc["ci"] == {"runner": "actions", "workflow": "mlbot-train.yml", "paths": ["**"]}


def test_the_workflow_installs_exactly_the_mlbot_that_wrote_it(
    repo: Path, breast_cancer_csv: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run(capsys, "init", str(repo), "--data", str(breast_cancer_csv), "--target", "label")
    text = (repo / ".github/workflows/mlbot-train.yml").read_text()
    installs = [line.strip() for line in text.splitlines() if "MLBOT_INSTALL:" in line]
    assert installs and set(installs) == {
        f"MLBOT_INSTALL: ${{{{ vars.MLBOT_INSTALL || 'mlbot-gitops=={__version__}' }}}}"}
    assert "|| 'mlbot'" not in text and ":-mlbot}" not in text


def test_render_pins_the_shell_form_of_the_install_token_too() -> None:
    from bot.scaffold.workflows import pin_installs

    text = 'run: python -m pip install "${MLBOT_INSTALL:-mlbot}"\n'
    pinned = 'run: python -m pip install "${MLBOT_INSTALL:-mlbot-gitops==1.2.3}"\n'
    assert pin_installs(text, "mlbot-gitops==1.2.3") == pinned


def test_upgrade_moves_every_mlbot_workflow_to_the_running_version(
    repo: Path, breast_cancer_csv: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run(capsys, "init", str(repo), "--data", str(breast_cancer_csv), "--target", "label")
    workflow = repo / ".github/workflows/mlbot-train.yml"
    old = workflow.read_text().replace(f"mlbot-gitops=={__version__}", "mlbot-gitops==0.1.0")
    workflow.write_text(old)
    other = repo / ".github/workflows/lint.yml"
    other.write_text("name: lint\n")

    code, out, err = run(capsys, "init", str(repo), "--upgrade")
    assert (code, err) == (0, "")
    assert (f"  ^ .github/workflows/mlbot-train.yml: now installs mlbot-gitops=={__version__} "
            "(was mlbot-gitops==0.1.0)") in out
    assert workflow.read_text() == render_workflow("main") and other.read_text() == "name: lint\n"

    code, out, _ = run(capsys, "init", str(repo), "--upgrade")
    assert code == 0 and f"Nothing changed: every workflow already installs mlbot-gitops=={__version__}" in out


def test_upgrade_without_an_mlbot_workflow_says_to_init_first(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "init", str(repo), "--upgrade")
    assert code == 2
    assert err == (f"error: no workflow in {repo / '.github/workflows'} installs mlbot\n"
                   "  next: run `mlbot init` first\n")


def _split_into(folder: Path, csv: Path) -> tuple[Path, Path]:
    frame = pd.read_csv(csv)
    folder.mkdir(parents=True, exist_ok=True)
    frame.iloc[:400].to_csv(folder / "fit.csv", index=False)
    frame.iloc[400:].to_csv(folder / "holdout.csv", index=False)
    return folder / "fit.csv", folder / "holdout.csv"


@pytest.mark.parametrize(
    ("where", "inputs"),
    [
        ("", ["fit.csv", "holdout.csv", "mlbot.yaml"]),
        ("data", ["data/", "mlbot.yaml"]),
        ("datasets/v2", ["datasets/v2/", "mlbot.yaml"]),
    ],
)
def test_init_then_check_passes_wherever_the_data_lives(
    repo: Path, breast_cancer_csv: Path, capsys: pytest.CaptureFixture[str], where: str, inputs: list[str]
) -> None:
    fit, holdout = _split_into(repo / where, breast_cancer_csv)
    code, out, _ = run(capsys, "init", str(repo), "--data", str(fit), "--eval", str(holdout), "--target", "label")
    assert code == 0
    assert yaml.safe_load((repo / "mlbot.yaml").read_text())["train"]["inputs"] == inputs
    assert f"commit {', '.join(inputs[:-1])}, mlbot.yaml, policies/" in out
    code, out, err = run(capsys, "check", str(repo))
    assert code == 0, out + err


def test_init_ignores_what_mlbot_writes_and_keeps_the_users_entries(
    repo: Path, breast_cancer_csv: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (repo / ".gitignore").write_text("*.pyc\nmlruns\n")
    code, out, _ = run(capsys, "init", str(repo), "--data", str(breast_cancer_csv), "--target", "label")
    assert code == 0 and "  ^ .gitignore: updated — ignores what mlbot writes" in out
    assert (repo / ".gitignore").read_text() == (
        "*.pyc\nmlruns\n\n# written by mlbot (runs, the local MLflow store, locks)\n"
        "mlartifacts/\nmlflow.db\n.mlbot/\n")


def test_init_outside_git_says_which_branch_it_assumes(
    tmp_path: Path, breast_cancer_csv: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    code, out, _ = run(capsys, "init", str(plain), "--data", str(breast_cancer_csv), "--target", "label")
    assert code == 0
    assert (f"note: {plain} is not a git repository (or has no branch yet): the workflow promotes on pushes "
            "to `main`; edit `branches:` in it if your default branch has another name") in out
    assert "2. run `git init`, then commit data/, mlbot.yaml" in out


def test_a_regression_gate_margin_is_scaled_to_the_target(
    repo: Path, diabetes_csv: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "init", str(repo), "--data", str(diabetes_csv))
    assert code == 0
    std = pd.read_csv(diabetes_csv)["target"].std()
    assert ("note: scaled the primary gate's margin to 'target': max_drop 3.9 "
            f"(5% of its standard deviation {std:.4g})") in out
    policy = (repo / "policies/default.yaml").read_text()
    gates = yaml.safe_load(policy)["gates"]
    assert gates[0]["metric"] == "primary" and gates[0]["vs_production"]["max_drop"] == 3.9
    assert "rmse and mae are in the units of 'target'" in policy and "more than 0.01" not in policy
    assert run(capsys, "check", str(repo))[0] == 0


def test_a_classification_policy_keeps_the_shipped_margin(
    repo: Path, breast_cancer_csv: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run(capsys, "init", str(repo), "--data", str(breast_cancer_csv), "--target", "label")
    assert (repo / "policies/default.yaml").read_text() == default_policy()


@pytest.mark.parametrize(("value", "rounded"), [(3.8545, 3.9), (0.012345, 0.012), (123.4, 120.0), (0.0, 0.0)])
def test_margins_are_rounded_to_two_significant_digits(value: float, rounded: float) -> None:
    from bot.scaffold.policy import round_margin

    assert round_margin(value) == rounded
