"""The README stays short and the docs stay a site: every page in the navigation, every link alive, a strict build."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from .pages import DOCS, FENCE, MKDOCS, README, ROOT, links, nav_pages, pages, site_config


def test_the_readme_is_what_a_newcomer_reads_in_one_sitting() -> None:
    text = README.read_text()
    assert len(text.splitlines()) < 300
    for heading in ("## The two commands", "## The demo", "## Getting started with your repository",
                    "## Connecting MLflow and GitHub", "## Read more"):
        assert heading in text
    assert "pip install mlbot-gitops" in text and "pipx install mlbot-gitops" in text
    assert "pip install mlbot " not in text and "pip install mlbot\n" not in text  # someone else's package


def test_every_page_is_in_the_navigation_and_every_entry_exists() -> None:
    config = site_config()
    named = nav_pages(config["nav"])
    on_disk = [p.relative_to(DOCS).as_posix() for p in pages() if p != README]
    assert sorted(named) == sorted(on_disk)
    assert len(named) == len(set(named))


@pytest.mark.parametrize("page", pages(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_relative_link_resolves(page: Path) -> None:
    broken = [target for target in links(page) if target and not (page.parent / target).exists()]
    assert broken == []
    if page != README:  # the site only has what is under docs/
        outside = [t for t in links(page) if t and not (page.parent / t).resolve().is_relative_to(DOCS)]
        assert outside == []


def test_the_readme_links_into_the_site_for_every_design_page() -> None:
    targets = set(links(README))
    for page in ("architecture", "security", "statistics", "reliability", "getting-started", "cli",
                 "settings", "configuration", "policies", "commands", "service", "sandbox", "actions",
                 "registry", "developing"):
        assert f"docs/{page}.md" in targets


@pytest.mark.parametrize("page", pages(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_commands_are_never_in_an_untagged_code_block(page: Path) -> None:
    """An untagged block would hide its commands from tests/docs/test_commands.py."""
    lines = page.read_text().splitlines()
    inside, hidden = False, []
    for number, line in enumerate(lines, start=1):
        fence = FENCE.match(line)
        if fence:
            if not inside and not fence.group(2) and number < len(lines):
                following = lines[number].strip()
                if re.match(r"^(\$ |mlbot |make |pip |pipx )", following):
                    hidden.append(number)
            inside = not inside
    assert hidden == []


@pytest.mark.skipif(importlib.util.find_spec("mkdocs") is None,
                    reason="MkDocs is not installed (pip install -e '.[docs]')")
def test_the_site_builds_strictly(tmp_path: Path) -> None:
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    built = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--config-file", str(MKDOCS),
                            "--site-dir", str(tmp_path / "site")], capture_output=True, text=True, env=env,
                           timeout=300, check=False)
    assert built.returncode == 0, built.stdout + built.stderr
    assert (tmp_path / "site" / "index.html").is_file()
    assert (tmp_path / "site" / "getting-started" / "index.html").is_file()


def test_make_demo_says_what_it_installs_and_skips_the_dev_tools(tmp_path: Path) -> None:
    planned = subprocess.run(["make", "-n", "demo", f"VENV={tmp_path / 'venv'}"], cwd=ROOT, capture_output=True,
                             text=True, check=True).stdout
    installs = [line for line in planned.splitlines() if "pip install" in line and "--upgrade pip" not in line]
    assert installs == [f"{tmp_path / 'venv'}/bin/python -m pip install -q --progress-bar off "
                        "-c constraints/service.txt -e ."]
    assert "installing mlbot and what it runs on" in planned and "takes a few minutes" in planned
    assert "starting the demo" in planned


def test_the_commands_page_shows_the_table_help_replies_with() -> None:
    from bot.core.commands import render_help

    page = (ROOT / "docs" / "commands.md").read_text().splitlines()
    for place in ("pull", "watch"):
        table = [line for line in render_help(place=place).splitlines() if line.startswith("|")]  # type: ignore[arg-type]
        start = page.index(table[1 + 1])  # the first command's row (the header rows are alike)
        assert page[start - 2:start - 2 + len(table)] == table  # one source: the command registry
