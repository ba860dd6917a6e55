"""Training runners: dispatch a GitHub Actions workflow, or train locally in a throwaway checkout.

`ActionsRunner.dispatch` returns at once (None); the `workflow_run` webhook reports the end.
`LocalRunner.dispatch` trains synchronously and returns the outcome: the worker calls it inside a
queued job, so the webhook edge never waits, and completion goes back through the queue from the
caller. The local runner never hands the bot's secrets to the pull request's code: it runs in a
fresh clone with no remote and a scrubbed environment.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from bot.ports import Forge, TrainingJob, TrainingOutcome
from bot.service.settings import scrubbed_environment

RUN_ID_LINE = re.compile(r"^run_id=([0-9A-Za-z_-]+)\s*$", re.MULTILINE)
CREDENTIALS = re.compile(r"://[^/@\s]+@")
GIT_TIMEOUT = 300.0


class ActionsRunner:
    """Train in GitHub Actions via `workflow_dispatch` on the default branch, sha as an input."""

    def __init__(self, forge: Forge) -> None:
        self.forge = forge

    def dispatch(self, job: TrainingJob) -> None:
        """Trigger the training workflow; ForgeError when GitHub refuses it."""
        inputs = {
            "sha": job.sha,
            "pr": "" if job.pr is None else str(job.pr),
            "params": json.dumps(job.params, sort_keys=True),
        }
        # ref is the default branch: the workflow file there is trusted, the PR's copy is not
        self.forge.dispatch_workflow(job.repo, job.workflow, ref=job.default_branch, inputs=inputs)


def mlbot_command() -> list[str]:
    """Return the argv prefix that runs this installation's `mlbot`."""
    script = Path(sys.executable).with_name("mlbot")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from bot.cli import main; main()"]


def train_argv(job: TrainingJob, project: Path) -> list[str]:
    """Return the `mlbot train` arguments for `job` (the same contract the workflow uses)."""
    argv = ["train", "--project", str(project), "--repo", job.repo, "--sha", job.sha, "--branch", job.branch,
            "--trigger", job.trigger, "--params", json.dumps(job.params, sort_keys=True)]
    if job.pr is not None:
        argv += ["--pr", str(job.pr)]
    return argv


def parse_run_id(output: str) -> str | None:
    """Return the run id from the last `run_id=<id>` line `mlbot train` printed, if any."""
    found = RUN_ID_LINE.findall(output)
    return found[-1] if found else None


def tail(text: str, lines: int) -> str:
    """Return the last `lines` lines of `text`."""
    return "\n".join(text.rstrip().splitlines()[-lines:])


class LocalRunner:
    """Train on this machine: clone the commit into a temporary directory and run `mlbot train`.

    `clone_url` maps "owner/name" to something `git clone` accepts (a URL or a local path); a
    string is formatted with `{repo}`. Credentials in it never reach the training code: the
    clone's remote is removed before training starts.
    """

    def __init__(
        self,
        *,
        clone_url: str | Callable[[str], str],
        tracking_uri: str,
        timeout: float = 3600.0,
        cwd: Path | None = None,
        command: Sequence[str] | None = None,
        log_lines: int = 80,
    ) -> None:
        self.clone_url = clone_url
        self.tracking_uri = tracking_uri
        self.timeout = timeout
        self.cwd = cwd  # MLflow resolves a relative default artifact root here; not the throwaway tree
        self.command = list(command) if command else None
        self.log_lines = log_lines

    def source(self, repo: str) -> str:
        """Return what to clone for `repo`."""
        return self.clone_url(repo) if callable(self.clone_url) else self.clone_url.format(repo=repo)

    def dispatch(self, job: TrainingJob) -> TrainingOutcome:
        """Check out `job.sha` in a temporary directory, train there, and report how it went."""
        started = time.monotonic()
        workdir = Path(tempfile.mkdtemp(prefix="mlbot-train-"))
        try:
            project = workdir / "project"
            problem = self.checkout(job, project)
            if problem:
                return TrainingOutcome(False, None, problem, time.monotonic() - started,
                                       f"I could not check out {job.sha[:7]} of {job.repo}.")
            return self.train(job, project, started)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)

    def checkout(self, job: TrainingJob, project: Path) -> str | None:
        """Clone and detach at the sha, then drop the remote; return git's complaint on failure."""
        failed = git(["clone", "--quiet", "--no-checkout", self.source(job.repo), str(project)], None)
        if failed is not None:
            return failed
        if git(["cat-file", "-e", f"{job.sha}^{{commit}}"], project) is not None:
            # not on any branch of the clone: a fork's head lives under refs/pull/N/head
            refs = [job.sha] + ([f"refs/pull/{job.pr}/head"] if job.pr is not None else [])
            for ref in refs:
                if git(["fetch", "--quiet", "origin", ref], project) is None:
                    break
        failed = git(["checkout", "--quiet", "--detach", job.sha], project)
        if failed is not None:
            return failed
        return git(["remote", "remove", "origin"], project)

    def train(self, job: TrainingJob, project: Path, started: float) -> TrainingOutcome:
        """Run `mlbot train` on the checkout with a scrubbed environment and a time limit."""
        argv = (self.command or mlbot_command()) + train_argv(job, project)
        env = scrubbed_environment({"MLFLOW_TRACKING_URI": self.tracking_uri, "PYTHONUNBUFFERED": "1"})
        process = subprocess.Popen(
            argv, cwd=self.cwd or Path.cwd(), env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True, errors="replace", start_new_session=True,
        )
        try:
            output, _ = process.communicate(timeout=self.timeout)
        except subprocess.TimeoutExpired:
            stop_group(process)
            output, _ = process.communicate()
            return TrainingOutcome(False, parse_run_id(output), tail(output, self.log_lines),
                                   time.monotonic() - started,
                                   f"Training timed out after {self.timeout:g} s and was stopped.")
        run_id = parse_run_id(output)
        duration = time.monotonic() - started
        if process.returncode != 0:
            return TrainingOutcome(False, run_id, tail(output, self.log_lines), duration,
                                   f"Training exited with code {process.returncode}.")
        if run_id is None:
            return TrainingOutcome(False, None, tail(output, self.log_lines), duration,
                                   "Training finished but did not report an MLflow run id.")
        return TrainingOutcome(True, run_id, tail(output, self.log_lines), duration,
                               f"Training finished in {duration:.0f} s (MLflow run {run_id}).")


def stop_group(process: subprocess.Popen[str]) -> None:
    """Kill the training process and everything it started (its own session)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)


def git(args: list[str], cwd: Path | None) -> str | None:
    """Run git without prompts; return None on success, else its last error line."""
    env = scrubbed_environment({"GIT_TERMINAL_PROMPT": "0", "GIT_ASKPASS": "true"})
    try:
        done = subprocess.run(["git", *args], cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                              capture_output=True, text=True, timeout=GIT_TIMEOUT, check=False)
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"git {args[0]}: {error}"
    if done.returncode == 0:
        return None
    lines = (done.stderr or done.stdout).strip().splitlines()
    # git quotes the URL it failed on; a token embedded in it must not reach a PR comment
    return CREDENTIALS.sub("://***@", f"git {args[0]}: {lines[-1] if lines else f'exit {done.returncode}'}")
