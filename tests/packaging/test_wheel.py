"""The wheel a user installs: built once from this checkout, installed in a fresh venv, used as a user would.

A file missing from the package (a report template, the default policy, the workflow template,
the demo's example) fails here, not on a user's machine. The test modules that read package data
run once more against the wheel, the checkout kept behind it on `sys.path`. The fresh venv gets
the wheel with `--no-deps` and borrows the test interpreter's site-packages for the dependencies
through a `.pth` line (whose own `.pth` files, such as an editable mlbot, are not processed), so
the test stays offline and quick while `bot` itself comes only from the wheel.
"""

from __future__ import annotations

import os
import shutil
import site
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sklearn.datasets import load_diabetes

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
# Files beside the code that the package must carry, as (source folder, folder in the wheel).
DATA_FOLDERS = [(ROOT / "bot", "bot"), (ROOT / "policies", "bot/policies"),
                (ROOT / "examples" / "breast-cancer", "bot/examples/breast-cancer")]


@dataclass(frozen=True)
class Installed:
    """A venv holding only the built wheel, and how to run its `mlbot`."""

    wheel: Path
    venv: Path
    version: str

    def run(self, *argv: str, cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(self.venv / "bin" / "mlbot"), *argv], cwd=cwd, env=clean_env(), text=True,
                              capture_output=True, timeout=timeout, check=False)


def clean_env() -> dict[str, str]:
    """The environment without what would put the checkout (or a test's MLflow store) in play."""
    return {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "MLFLOW_TRACKING_URI")}


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Installed]:
    """Build sdist and wheel (the wheel from the sdist, as a release does) and install the wheel."""
    work = tmp_path_factory.mktemp("wheel")
    egg_info = ROOT / "mlbot_gitops.egg-info"
    had_egg_info = egg_info.exists()
    try:
        built = subprocess.run([sys.executable, "-m", "build", "--outdir", str(work / "dist"), str(ROOT)],
                               capture_output=True, text=True, timeout=600, check=False, env=clean_env())
    finally:  # the sdist step leaves it in the checkout, where it would claim to be an installed mlbot
        if not had_egg_info:
            shutil.rmtree(egg_info, ignore_errors=True)
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    wheel = next((work / "dist").glob("*.whl"))
    venv = work / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    purelib = next(venv.glob("lib/python*/site-packages"))
    (purelib / "_borrowed_dependencies.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    subprocess.run([sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install",
                    "--quiet", "--no-deps", "--no-index", str(wheel)], check=True, timeout=300, env=clean_env())
    version = wheel.name.split("-")[1]
    yield Installed(wheel, venv, version)


def test_bot_is_imported_from_the_wheel_not_the_checkout(installed: Installed, tmp_path: Path) -> None:
    where = subprocess.run([str(installed.venv / "bin" / "python"), "-c", "import bot; print(bot.__file__)"],
                           cwd=tmp_path, env=clean_env(), capture_output=True,
                           text=True, check=True)
    assert Path(where.stdout.strip()).is_relative_to(installed.venv)


def test_every_file_beside_the_code_is_in_the_wheel(installed: Installed) -> None:
    names = set(zipfile.ZipFile(installed.wheel).namelist())
    tracked = subprocess.run(["git", "-C", str(ROOT), "ls-files"], capture_output=True, text=True,
                             check=True).stdout.splitlines()
    missing = []
    for source, target in DATA_FOLDERS:
        for rel in tracked:
            path = ROOT / rel
            if path.suffix in (".py", ".pyc") or not path.is_relative_to(source):
                continue
            if f"{target}/{path.relative_to(source).as_posix()}" not in names:
                missing.append(rel)
    assert missing == []


def test_version_is_the_wheels(installed: Installed, tmp_path: Path) -> None:
    done = installed.run("--version", cwd=tmp_path)
    assert (done.returncode, done.stdout, done.stderr) == (0, f"mlbot {installed.version}\n", "")


def test_init_then_check_from_the_wheel(installed: Installed, tmp_path: Path) -> None:
    repo = tmp_path / "diabetes-model"
    subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True)
    load_diabetes(as_frame=True).frame.to_csv(tmp_path / "diabetes.csv", index=False)

    init = installed.run("init", str(repo), "--data", str(tmp_path / "diabetes.csv"), cwd=tmp_path)
    assert init.returncode == 0, init.stdout + init.stderr
    workflow = (repo / ".github/workflows/mlbot-train.yml").read_text()
    assert f"'mlbot-gitops=={installed.version}'" in workflow
    assert "max_drop: 3.9" in (repo / "policies/default.yaml").read_text()

    check = installed.run("check", str(repo), cwd=tmp_path)
    assert check.returncode == 0, check.stdout + check.stderr
    assert check.stdout.startswith("ok: ")


def test_check_the_shipped_example(installed: Installed, tmp_path: Path) -> None:
    check = installed.run("check", str(ROOT / "examples" / "breast-cancer"), cwd=tmp_path)
    assert check.returncode == 0, check.stdout + check.stderr


def test_the_demo_runs_from_the_wheel(installed: Installed, tmp_path: Path) -> None:
    demo = installed.run("demo", "--quiet", "--workdir", str(tmp_path / "demo"), cwd=tmp_path, timeout=600)
    assert demo.returncode == 0, demo.stdout[-3000:] + demo.stderr[-3000:]
    assert "promoted breast-cancer v2 to production" in demo.stdout


# Test modules that read the package's data files: run again with `bot` imported from the wheel.
AGAINST_THE_WHEEL = ["tests/actions/test_init.py", "tests/analysis", "tests/packaging/test_cli_help.py"]


def test_the_tests_that_read_package_data_pass_against_the_wheel(installed: Installed) -> None:
    # -P and --import-mode=append keep the checkout behind the venv's site-packages on sys.path,
    # so `import bot` is the wheel's while the tests themselves come from the checkout.
    suite = subprocess.run([str(installed.venv / "bin" / "python"), "-P", "-m", "pytest", "-q", "-p",
                            "no:cacheprovider", "--import-mode=append", "-m", "not slow", *AGAINST_THE_WHEEL],
                           cwd=ROOT, env=clean_env(), capture_output=True, text=True, timeout=900, check=False)
    assert suite.returncode == 0, suite.stdout[-4000:] + suite.stderr[-2000:]
    assert " passed" in suite.stdout.splitlines()[-1]
