"""The documentation as data: README.md and docs/*.md, their links and the shell commands they show."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
DOCS = ROOT / "docs"
MKDOCS = ROOT / "mkdocs.yml"
SHELL_FENCES = {"sh", "bash", "shell", "console"}
FENCE = re.compile(r"^(\s*)```(\S*)\s*$")
_LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)")


def pages() -> list[Path]:
    """README.md and every page of the site, as the site builds them."""
    excluded = set(site_config().get("exclude_docs", "").split())
    return [README, *(p for p in sorted(DOCS.rglob("*.md")) if p.relative_to(DOCS).as_posix() not in excluded)]


def site_config() -> dict[str, Any]:
    """mkdocs.yml, reading its `!!python/name:` tags as plain strings."""
    class Loader(yaml.SafeLoader):
        pass

    Loader.add_multi_constructor("tag:yaml.org,2002:python/", lambda loader, suffix, node: suffix)
    return dict(yaml.load(MKDOCS.read_text(), Loader=Loader))


def nav_pages(nav: Any) -> list[str]:
    """Every page the navigation names, depth first."""
    if isinstance(nav, str):
        return [nav]
    if isinstance(nav, list):
        return [page for item in nav for page in nav_pages(item)]
    if isinstance(nav, dict):
        return [page for value in nav.values() for page in nav_pages(value)]
    return []


def links(page: Path) -> list[str]:
    """Relative link targets in a page's prose (not in code blocks), without their #anchor."""
    found = []
    for line in prose(page):
        for target in _LINK.findall(re.sub(r"`[^`]*`", "", line)):
            if not re.match(r"^[a-z]+:|^#", target):
                found.append(target.split("#")[0])
    return found


def prose(page: Path) -> list[str]:
    """The page's lines outside fenced code blocks."""
    lines, inside = [], False
    for line in page.read_text().splitlines():
        if FENCE.match(line):
            inside = not inside
        elif not inside:
            lines.append(line)
    return lines


@dataclass(frozen=True)
class Command:
    """One shell command as a page shows it."""

    page: Path
    line: int
    text: str


def commands(page: Path) -> list[Command]:
    """Shell commands in sh/bash/console blocks: `$ ` lines in console, every line otherwise."""
    found: list[Command] = []
    lines = page.read_text().splitlines()
    fence: str | None = None
    pending = ""
    start = 0
    for number, raw in enumerate(lines, start=1):
        opened = FENCE.match(raw)
        if opened:
            fence = opened.group(2) if fence is None else None
            continue
        if fence not in SHELL_FENCES:
            continue
        line = raw.strip()
        if not pending:
            if fence == "console":
                if not line.startswith("$ "):
                    continue
                line = line[2:]
            if not line or line.startswith("#"):
                continue
            start = number
        if line.endswith("\\"):
            pending += line[:-1].rstrip() + " "
            continue
        found.append(Command(page, start, pending + line))
        pending = ""
    return found
