"""The demo's story, played through the real HTTP paths of a `LocalStack`.

A baseline is trained and promoted on main; a pull request that improves the model is reported,
approved, merged and promoted; one that regresses is reported, merged anyway and not promoted;
then comment commands show authorization and a one-command rollback; finally production data drifts,
the watch opens an issue and `/retrain` there opens a pull request with refreshed data. Each beat
narrates what happened and quotes the bot's own words.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from bot.adapters.mlflow.tracker import MlflowTracker
from bot.adapters.runners import mlbot_command
from bot.core.errors import MlbotError
from bot.core.report import marker
from bot.demo.stack import LocalStack
from bot.demo.terminal import brief, fill, markdown_to_text, quote
from bot.demo.watch_beat import production_drifts
from bot.service.settings import scrubbed_environment

REPO = "acme/breast-cancer"
MODEL = "breast-cancer"
AUTHOR, REVIEWER, MAINTAINER = "alice", "rey", "maya"
# Small forests keep the whole story well under three minutes on a two-core laptop.
BASELINE: dict[str, Any] = {"n_estimators": 5, "max_depth": 3}
BETTER: dict[str, Any] = {"n_estimators": 60, "max_depth": None}
WORSE: dict[str, Any] = {"n_estimators": 1, "max_depth": 1}
CLI_TIMEOUT = 300.0


class DemoFailed(MlbotError):
    """The story did not unfold as it should: a bug worth reporting."""


@dataclass(frozen=True)
class DemoOptions:
    """Where the demo lives and how much it prints."""

    workdir: Path
    example: Path
    quiet: bool = False
    width: int = 100


def with_params(config_text: str | bytes, params: dict[str, Any]) -> str:
    """The example's mlbot.yaml with `params` (plus a fixed seed) for its estimator."""
    data = yaml.safe_load(config_text)
    data["train"]["params"] = {**params, "random_state": 0}
    return yaml.safe_dump(data, sort_keys=False)


def describe(params: dict[str, Any]) -> str:
    """`60 trees, no depth limit` — params the way a person says them."""
    trees = params["n_estimators"]
    depth = params["max_depth"]
    return f"{trees} tree{'s' if trees != 1 else ''}, " + ("no depth limit" if depth is None else f"depth {depth}")


class Demo:
    """The story's beats over a started stack; `echo` prints one block of text."""

    repo = REPO
    model = MODEL

    def __init__(self, stack: LocalStack, options: DemoOptions, echo: Callable[[str], None]) -> None:
        self.stack = stack
        self.options = options
        self.echo = echo
        self.project = options.workdir / MODEL
        self.tracker = MlflowTracker(stack.tracking_uri, lock_dir=stack.workdir / "bot" / "locks")
        self.started = time.monotonic()
        self.pulls: dict[int, str] = {}  # number -> title
        self.main_sha = ""

    @property
    def github(self) -> Any:
        return self.stack.github

    # --- narration -----------------------------------------------------------------------------

    def beat(self, title: str) -> None:
        elapsed = time.monotonic() - self.started
        self.echo(f"\n━━ {title} {'━' * max(3, self.options.width - len(title) - 14)} {elapsed:4.0f} s")

    def say(self, text: str) -> None:
        self.echo(fill(text, self.options.width))

    def quote_bot(self, body: str, *, full: bool = True) -> None:
        text = markdown_to_text(body, width=self.options.width - 6)
        if not full or self.options.quiet:
            text = brief(text)
        self.echo(quote(text))

    def expect(self, condition: bool, what: str) -> None:
        if not condition:
            raise DemoFailed(f"the demo expected that {what}, and it did not happen",
                             hint=f"the bot's log is in {self.options.workdir / 'demo.log'}; please report it")

    # --- reading the sandbox ----------------------------------------------------------------

    def settle(self) -> None:
        self.stack.settle()

    def bot_comments(self, number: int) -> list[Any]:
        return [c for c in self.github.comments(REPO, number) if c.author == self.stack.bot_login]

    def said_since(self, number: int, seen: set[int]) -> list[str]:
        """The bot's new comments on `number` (not the sticky report), oldest first."""
        return [c.body for c in self.bot_comments(number)
                if c.id not in seen and not c.body.startswith(marker(MODEL))]

    def report(self, number: int) -> str:
        found = [c.body for c in self.bot_comments(number) if c.body.startswith(marker(MODEL))]
        self.expect(len(found) == 1, f"pull request #{number} has one sticky report")
        return str(found[0])

    def check(self, sha: str, name: str) -> tuple[str | None, str]:
        runs = [r for r in self.github.check_runs(REPO, sha) if r.name == name]
        if not runs:
            return None, ""
        newest = max(runs, key=lambda r: r.id)
        return newest.conclusion or newest.status, str((newest.output or {}).get("title") or "")

    def show_checks(self, sha: str) -> dict[str, str | None]:
        found: dict[str, str | None] = {}
        lines = []
        for name in ("mlbot/train", "mlbot/gates"):
            state, title = self.check(sha, name)
            found[name] = state
            mark = {"success": "✓", "failure": "✗", "neutral": "…"}.get(state or "", "?")
            lines.append(f"  {mark} {name}: {state or 'missing'}{' — ' + title if title else ''}")
        self.say(f"Checks on {sha[:7]}:\n" + "\n".join(lines))
        return found

    def production(self) -> str | None:
        current = self.tracker.production_version(MODEL)
        return current.version if current else None

    # --- the story -----------------------------------------------------------------------------

    def play(self) -> None:
        """Play every beat, then the summary."""
        self.setup()
        self.baseline()
        better = self.improve()
        worse = self.regress()
        self.commands(better, worse)
        production_drifts(self, MAINTAINER)
        self.summary()

    def setup(self) -> None:
        self.beat("0. A repository with a model")
        root = self.options.example
        files: dict[str, str | bytes] = {str(p.relative_to(root)): p.read_bytes()
                                         for p in sorted(root.rglob("*")) if p.is_file()}
        files["mlbot.yaml"] = with_params(files["mlbot.yaml"], BASELINE)
        for path, content in files.items():
            target = self.project / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content.encode() if isinstance(content, str) else content)
        self.main_sha = self.github.create_repo(REPO, files)
        for login, role in ((AUTHOR, "write"), (REVIEWER, "write"), (MAINTAINER, "maintain")):
            self.github.set_role(REPO, login, role)
        self.say(f"{REPO} holds a copy of examples/breast-cancer: a random forest, its data, mlbot.yaml and "
                 "policies/ (the gates).\nPeople: alice (data scientist, write), rey (reviewer, write), "
                 "maya (maintainer).")

    def run_cli(self, *args: str) -> str:
        """Run `mlbot ARGS` as a maintainer would on main, against the demo's MLflow; show its output."""
        shown = " ".join(a if " " not in a else f"'{a}'" for a in args)
        self.say(f"  $ mlbot {shown}")
        env = scrubbed_environment({"MLFLOW_TRACKING_URI": self.stack.tracking_uri,
                                    "MLBOT_DATA_DIR": str(self.stack.workdir / "bot"), "PYTHONUNBUFFERED": "1"})
        done = subprocess.run([*mlbot_command(), *args], cwd=self.stack.workdir / "bot", env=env,
                              stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=CLI_TIMEOUT,
                              check=False)
        lines = [line for line in done.stdout.splitlines() if line.strip() and not line.startswith("run_id=")]
        if lines:
            self.echo("\n".join(f"    {line}" for line in lines))
        self.expect(done.returncode == 0, f"`mlbot {args[0]}` succeeds (it said: {done.stderr.strip()[-300:]})")
        return done.stdout

    def baseline(self) -> None:
        self.beat("1. Baseline on main, promoted as v1")
        self.say(f"maya trains main ({describe(BASELINE)}) and promotes it, the way CI or a maintainer would:")
        (self.stack.workdir / "bot").mkdir(parents=True, exist_ok=True)
        project = str(self.project)
        self.run_cli("train", "--project", project, "--repo", REPO, "--sha", self.main_sha, "--branch", "main")
        self.run_cli("promote", "--project", project, "--sha", self.main_sha, "--by", MAINTAINER,
                     "--reason", "baseline")
        self.expect(self.production() == "1", "the baseline became production v1")
        self.say("Production is now v1. No model was compared yet: relative gates skip, absolute ones applied.")

    def open_pull(self, branch: str, params: dict[str, Any], title: str, *, gates: str) -> tuple[int, str]:
        """alice opens a pull request; show the bot's report and checks, which must end with `gates`."""
        config = with_params((self.options.example / "mlbot.yaml").read_text(), params)
        sha = self.github.push_commit(REPO, branch, {"mlbot.yaml": config}, title, author=AUTHOR)
        number = self.github.open_pull(REPO, branch, "main", title, AUTHOR)
        self.pulls[number] = title
        self.say(f"alice opens PR #{number} “{title}” ({describe(params)}). The sandbox sends the webhook; "
                 "mlbot queues it, trains the head commit with the local runner, compares it with production "
                 "on the same eval rows and posts its report:")
        self.settle()
        self.quote_bot(self.report(number))
        checks = self.show_checks(sha)
        self.expect(checks["mlbot/train"] == "success", f"PR #{number} trained")
        self.expect(checks["mlbot/gates"] == gates, f"PR #{number}'s gates check ended {gates}")
        return number, sha

    def act(self, number: int, action: Callable[[], object]) -> list[str]:
        """Do `action`, wait for the bot, and quote what it newly said on `number`."""
        seen = {c.id for c in self.bot_comments(number)}
        action()
        self.settle()
        said = self.said_since(number, seen)
        for body in said:
            self.quote_bot(body)
        return said

    def merge(self, number: int) -> list[str]:
        return self.act(number, lambda: self.github.merge(REPO, number, by=MAINTAINER))

    def approve(self, number: int) -> None:
        self.github.review(REPO, number, REVIEWER, "APPROVED")
        self.settle()

    def improve(self) -> int:
        self.beat("2. PR #1 improves the model")
        number, sha = self.open_pull("bigger-forest", BETTER, "Bigger forest", gates="neutral")
        self.say("Every metric is better; the one gate left is the review the policy asks for, so the gates "
                 "check waits (neutral, never red) and the report says what is missing. rey approves, and "
                 "the bot updates the same comment:")
        self.approve(number)
        self.quote_bot(self.report(number), full=False)
        checks = self.show_checks(sha)
        self.expect(checks["mlbot/gates"] == "success", "rey's approval turned PR #1's gates green")
        self.say("maya merges. At merge time the bot re-reads approvals, checks and production, "
                 "re-evaluates the gates and promotes:")
        self.merge(number)
        self.expect(self.production() == "2", "merging PR #1 promoted v2")
        self.expect(bool(self.github.deployments(REPO)), "the promotion created a GitHub deployment")
        self.say("Production is v2: alias `production` moved in the MLflow registry, with a GitHub deployment "
                 "and git tags.")
        return number

    def regress(self) -> int:
        self.beat("3. PR #2 regresses")
        number, _ = self.open_pull("one-stump", WORSE, "Faster model: a single stump", gates="failure")
        self.say("rey approves anyway and maya merges it anyway (it happens). The bot re-checks at merge "
                 "time and refuses:")
        self.approve(number)
        said = self.merge(number)
        self.expect(any(body.startswith("I did not promote") for body in said), "the bot said why PR #2 "
                    "was not promoted")
        self.expect(self.production() == "2", "production stayed v2 after PR #2")
        self.say("Production is still v2: a merge is not a promotion.")
        return number

    def command(self, number: int, who: str, text: str) -> list[str]:
        self.say(f"{who} comments on PR #{number}:  {text}")
        return self.act(number, lambda: self.github.comment(REPO, number, text, who))

    def commands(self, better: int, worse: int) -> None:
        self.beat("4. Commands and who may use them")
        said = self.command(worse, AUTHOR, "/promote")
        self.expect(any("did not run `/promote`" in body for body in said),
                    "alice's /promote was refused (write is not enough to promote)")
        self.say("Refused: promoting needs maintain or admin (or being listed in commands.promoters), "
                 "checked live at execution time.")
        said = self.command(better, MAINTAINER, "/rollback --reason latency incident in production")
        self.expect(self.production() == "1", "maya's /rollback moved production back to v1")
        self.say("One command, and production is v1 again; v2 stays registered for a later promotion.")

    def summary(self) -> None:
        self.beat("Summary")
        entries = self.tracker.history(MODEL)
        lines = [f"Production: {MODEL} v{self.production()}.", "", "Ledger (mlbot history):"]
        for entry in entries:
            move = f"{'v' + entry.previous if entry.previous else '—'} → v{entry.version}"
            pr = f"#{entry.pr}" if entry.pr is not None else "—"
            lines.append(f"  {entry.seq:>2}  {entry.action:<9} {move:<9} PR {pr:<3} by {entry.by:<7} "
                         f"{entry.reason}")
        self.say("\n".join(lines))
        elapsed = time.monotonic() - self.started
        self.say(f"\nThe story took {elapsed:.0f} s.")

    def look_deeper(self, serving: bool) -> None:
        """Where to look next: MLflow's UI on the SQLite file, and the PR pages while serving."""
        sandbox = self.github.base_url
        lines = ["Look deeper:",
                 f"  mlflow ui --backend-store-uri {self.stack.tracking_uri}",
                 f"  MLFLOW_TRACKING_URI={self.stack.tracking_uri} mlbot history --project {self.project}"]
        pages = [f"  {sandbox}/{REPO}/pull/{n}   ({title})" for n, title in sorted(self.pulls.items())]
        if serving:
            lines += ["The pull requests' conversations (read-only):", *pages,
                      f"mlbot is listening at {self.stack.bot_url}. Ctrl-C stops everything."]
        else:
            lines.append("  mlbot demo --serve   keeps the sandbox up to read the PR conversations in a browser")
        self.say("\n".join(lines))
