"""Watch fixtures: the registry tests' real MLflow store, CLI and example project (trained, promoted)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from tests.github.conftest import forge, make_forge, sandbox
from tests.registry.conftest import cli, migrated_store, project, tracking_uri, train
from tests.registry.test_cli_flow import SHA1

__all__ = ["cli", "forge", "make_forge", "migrated_store", "project", "sandbox", "tracking_uri", "train"]
WATCH = """
watch:
  data: "{data}"
  label: label
  close_after: 2
"""


@pytest.fixture
def production(cli, train, project: Path, tmp_path: Path) -> Path:  # type: ignore[no-untyped-def]
    """The example trained and promoted, with `watch:` pointing at tmp_path/prod/*.csv; return prod/."""
    run_id = train(SHA1)
    done = cli("promote", "--project", str(project), "--run", run_id, "--by", "alice")
    assert done.code == 0, done.err
    folder = tmp_path / "prod"
    folder.mkdir()
    text = (project / "mlbot.yaml").read_text() + WATCH.format(data=folder / "*.csv")
    (project / "mlbot.yaml").write_text(text)
    return folder


def rows(project: Path) -> pd.DataFrame:
    """Every labelled row of the example (train and eval): a window from the training distribution."""
    return pd.concat([pd.read_csv(project / "data/train.csv"), pd.read_csv(project / "data/eval.csv")])
