"""The local runner: fit the pull request's model in a sandbox, then evaluate it with mlbot's own code.

`LocalRunner.dispatch` trains synchronously and returns the outcome: the worker calls it inside a
queued job, so the webhook edge never waits. Two stages with a hard boundary (SPEC §10):

1. `mlbot fit` — the pull request's code, inside the sandbox: the checkout read-only, one writable
   output dir, no network, no credentials, an allow-listed environment, resource limits.
2. `mlbot evaluate` — mlbot's code, outside the sandbox, with the base branch's `mlbot.yaml` and the
   MLflow URI (the only credential it needs; never the GitHub token, App key or webhook secret).

`watch` and `refresh` run no pull request's code: they check out the default branch and run
`mlbot watch` or the team's `watch.refresh` there, outside the sandbox, with the evaluate's
allow-listed environment (default_branch.py reads how they ended; changes.py what a refresh changed).
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Protocol

from bot.adapters.runners import changes
from bot.adapters.runners.default_branch import (
    refresh_environment,
    refresh_failure,
    watch_argv,
    watch_outcome,
)
from bot.adapters.runners.processes import Finished, ProcessGroups
from bot.adapters.runners.sandbox import Bubblewrap, Limits, Sandbox, SandboxUnavailable, choose_sandbox
from bot.core.config import load_project
from bot.core.errors import MlbotError, Transient
from bot.core.redact import redact
from bot.ports import RefreshJob, RefreshOutcome, TrainingJob, TrainingOutcome, WatchJob, WatchOutcome
from bot.service.settings import Settings, scrubbed_environment

RUN_ID_LINE = re.compile(r"^run_id=([0-9A-Za-z_-]+)\s*$", re.MULTILINE)
CREDENTIALS = re.compile(r"://[^/@\s]+@")
GIT_TIMEOUT = 300.0
GITHUB_CLONE_URL = "https://github.com/{repo}.git"  # when neither MLBOT_CLONE_URL nor the job names one
FULL_SHA = re.compile(r"[0-9a-f]{40}")
MAX_OUTPUT_MB = 4096  # what the fit may leave in its output dir
# What the trusted evaluate inherits from the bot: the basics, and what MLflow and its artifact store read.
EVALUATE_NAMES = ("PATH", "HOME", "LANG", "LANGUAGE", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR", "PYTHONPATH",
                  "PYTHONHASHSEED", "VIRTUAL_ENV", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                  "GOOGLE_APPLICATION_CREDENTIALS")
EVALUATE_PREFIXES = ("MLFLOW_", "AWS_", "AZURE_STORAGE_")


class Cloned(Protocol):
    """What a job says about the repository it clones (training, watch and refresh jobs alike)."""

    @property
    def repo(self) -> str: ...

    @property
    def clone_url(self) -> str: ...


def mlbot_command() -> list[str]:
    """Return the argv prefix that runs this installation's `mlbot`."""
    script = Path(sys.executable).with_name("mlbot")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from bot.cli import main; main()"]


def fit_argv(job: TrainingJob, project: Path, output: Path) -> list[str]:
    """Return the `mlbot fit` arguments: the untrusted stage learns only where to read and write."""
    return ["fit", "--project", str(project), "--output", str(output),
            "--params", json.dumps(job.params, sort_keys=True)]


def evaluate_argv(job: TrainingJob, project: Path, model: Path, base: Path | None) -> list[str]:
    """Return the `mlbot evaluate` arguments (the same contract the Actions workflow's evaluate job uses).

    `base` holds the default branch's `mlbot.yaml` and `policies/`: the rules the pull request is judged by.
    """
    argv = ["evaluate", "--project", str(project), "--model", str(model)]
    if base is not None:
        argv += ["--config", str(base / "mlbot.yaml"), "--policies", str(base / "policies")]
    argv += ["--repo", job.repo, "--sha", job.sha, "--branch", job.branch, "--trigger", job.trigger,
             "--params", json.dumps(job.params, sort_keys=True)]
    if job.pr is not None:
        argv += ["--pr", str(job.pr)]
    return [*argv, "--tempfail-exit"]  # MLflow down: exit 75, and the job is tried again later


def evaluate_environment(host: Mapping[str, str], tracking_uri: str) -> dict[str, str]:
    """Build the trusted evaluate's environment from an allow-list: no MLBOT_* setting, no GitHub secret."""
    env = {key: value for key, value in host.items() if key in EVALUATE_NAMES or key.startswith(EVALUATE_PREFIXES)}
    env.update({"MLFLOW_TRACKING_URI": tracking_uri, "PYTHONUNBUFFERED": "1"})
    return env


def parse_run_id(output: str) -> str | None:
    """Return the run id from the last `run_id=<id>` line `mlbot evaluate` printed, if any."""
    found = RUN_ID_LINE.findall(output)
    return found[-1] if found else None


def tail(text: str, lines: int) -> str:
    """Return the last `lines` lines of `text`."""
    return "\n".join(text.rstrip().splitlines()[-lines:])


def output_problem(output: Path, max_bytes: int) -> str | None:
    """Return why the fit's output dir is unsafe to hand to evaluate (a link, device, setuid file, too big)."""
    total = 0
    for root, dirs, files in os.walk(output):
        for name in [*dirs, *files]:
            path = Path(root) / name
            mode = path.lstat().st_mode
            # a symlink could point evaluate at the bot's own files; setuid bits survive on the host
            if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)) or mode & (stat.S_ISUID | stat.S_ISGID):
                return f"The fit stage left {path.relative_to(output)} in its output, which is not a plain file."
            total += path.lstat().st_size if stat.S_ISREG(mode) else 0
    mib = 1024 * 1024
    if total > max_bytes:
        return f"The fit stage wrote {total // mib} MB, more than the {max_bytes // mib} MB allowed."
    return None


class LocalRunner:
    """Train on this machine: clone the commit, fit it in the sandbox, evaluate it with mlbot's code.

    What is cloned: `clone_url` when given (MLBOT_CLONE_URL: maps "owner/name" to something `git
    clone` accepts; a string is formatted with `{repo}`), else the repository's own clone URL from
    the webhook (`job.clone_url`), else github.com. `credential(repo)` gives a short-lived token for
    http(s) clones (the App's installation token, or the configured token): it reaches `git` only,
    as an HTTP header in git's environment, never argv, the fit, the evaluate or a log. The clone's
    remote is removed before the fit, and the sandbox sees only the checkout. `cwd` is the bot's data dir: evaluate
    runs there (MLflow resolves a relative artifact root against it); the sandbox never sees it.
    """

    def __init__(
        self,
        *,
        clone_url: str | Callable[[str], str] | None = None,
        tracking_uri: str,
        credential: Callable[[str], str | None] | None = None,
        timeout: float = 3600.0,
        cwd: Path | None = None,
        sandbox: Sandbox | None = None,
        fit_command: Sequence[str] | None = None,
        evaluate_command: Sequence[str] | None = None,
        watch_command: Sequence[str] | None = None,
        secrets: Sequence[str] = (),
        log_lines: int = 80,
        host_env: Mapping[str, str] | None = None,
    ) -> None:
        self.clone_url = clone_url
        self.credential = credential
        self.tracking_uri = tracking_uri
        self.timeout = timeout
        self.cwd = cwd
        self.sandbox = sandbox or Bubblewrap(hidden=private_paths(cwd, tracking_uri))
        self.fit_command = list(fit_command) if fit_command else mlbot_command()
        self.evaluate_command = list(evaluate_command) if evaluate_command else mlbot_command()
        self.watch_command = list(watch_command) if watch_command else mlbot_command()
        self.secrets = list(secrets)
        self.log_lines = log_lines
        self.host_env = host_env
        self.groups = ProcessGroups()

    @classmethod
    def from_settings(cls, settings: Settings, tracking_uri: str,
                      credential: Callable[[str], str | None] | None = None) -> LocalRunner:
        """Build the runner `mlbot serve` uses: sandbox and limits from settings, the bot's paths hidden."""
        data_dir = settings.data_dir.resolve()
        limits = Limits(memory_mb=settings.fit_memory_mb, cpu_seconds=max(1, int(settings.train_timeout)),
                        file_mb=settings.fit_max_file_mb, processes=settings.fit_max_processes)
        hidden = private_paths(data_dir, tracking_uri, settings.queue_url)
        sandbox = choose_sandbox(unsafe=settings.unsafe_unsandboxed_fit, bwrap=settings.bwrap_path, limits=limits,
                                 hidden=hidden)
        # MLBOT_CLONE_URL is an override: without it, each repository's own clone_url is used
        override = settings.clone_url if "clone_url" in settings.model_fields_set else None
        return cls(clone_url=override, tracking_uri=tracking_uri, credential=credential,
                   timeout=settings.train_timeout, cwd=data_dir, sandbox=sandbox, secrets=settings.secret_values())

    def source(self, job: Cloned) -> str:
        """Return what to clone for `job`: the override, else the repository's own URL, else github.com's."""
        if callable(self.clone_url):
            return self.clone_url(job.repo)
        if self.clone_url:
            return self.clone_url.format(repo=job.repo)
        return job.clone_url or GITHUB_CLONE_URL.format(repo=job.repo)

    def clone_auth(self, url: str, repo: str) -> tuple[dict[str, str], str]:
        """Return git's extra environment for cloning `url` with the bot's credential, and the token."""
        if not url.startswith(("https://", "http://")) or CREDENTIALS.search(url) or self.credential is None:
            return {}, ""
        token = self.credential(repo)
        return (http_auth_environment(token), token) if token else ({}, "")

    def preflight(self) -> None:
        """Raise SandboxUnavailable (one sentence, how to install bubblewrap) when fit cannot be sandboxed."""
        self.sandbox.check()

    @property
    def stopping(self) -> bool:
        """Whether the bot is shutting down this runner (a training cut short must be run again)."""
        return self.groups.stopping

    def stop_all(self) -> int:
        """Kill every running fit and evaluate (their whole process trees) and refuse new ones."""
        return self.groups.stop_all()

    def dispatch(self, job: TrainingJob) -> TrainingOutcome:
        """Check out `job.sha` in a temporary directory, fit and evaluate there, and report how it went."""
        started = time.monotonic()
        # outside the bot's data dir, so nothing in the job's tree is a path the bot trusts
        workdir = Path(tempfile.mkdtemp(prefix="mlbot-job-"))
        try:
            self.preflight()
            project, output = workdir / "project", workdir / "output"
            try:
                problem = self.checkout(job, project, workdir / "base")
            except MlbotError as error:  # no credential to clone with: the App is not installed, ...
                problem = error.message
            if problem:
                return TrainingOutcome(False, None, self.safe(problem), time.monotonic() - started,
                                       f"I could not check out {job.sha[:7]} of {job.repo}.")
            output.mkdir()
            return self.train(job, workdir, started)
        except SandboxUnavailable as error:  # refuse, in one sentence, rather than run the PR's code bare
            return TrainingOutcome(False, None, "", time.monotonic() - started, error.message)
        finally:
            remove_tree(workdir)

    def checkout(self, job: TrainingJob, project: Path, base: Path) -> str | None:
        """Clone and detach at the sha, keep the default branch's rules in `base`, drop the remote; or say why not."""
        url = self.source(job)
        auth, token = self.clone_auth(url, job.repo)
        failed = git(["clone", "--quiet", "--no-checkout", url, str(project)], None, auth)
        if failed is not None:
            return redact(failed, [token]) if token else failed
        if git(["cat-file", "-e", f"{job.sha}^{{commit}}"], project) is not None:
            # not on any branch of the clone: a fork's head lives under refs/pull/N/head
            refs = [job.sha] + ([f"refs/pull/{job.pr}/head"] if job.pr is not None else [])
            for ref in refs:
                if git(["fetch", "--quiet", "origin", ref], project, auth) is None:
                    break
        failed = git(["checkout", "--quiet", "--detach", job.sha], project)
        if failed is not None:
            return failed
        save_base_config(project, job.default_branch, base)
        return git(["remote", "remove", "origin"], project)

    def train(self, job: TrainingJob, workdir: Path, started: float) -> TrainingOutcome:
        """Run the sandboxed fit, check what it wrote, then the trusted evaluate; one deadline for both."""
        project, output, base = workdir / "project", workdir / "output", workdir / "base"
        deadline = started + self.timeout
        host = self.host()
        inner_project, inner_output = self.sandbox.inside(project, output)
        fit = self.sandbox.prepare([*self.fit_command, *fit_argv(job, inner_project, inner_output)],
                                   project=project, output=output, scratch=workdir, host_env=host, extra_env={})
        fitted = self.groups.run(fit.argv, env=fit.env, cwd=fit.cwd, timeout=deadline - time.monotonic())
        log = fitted.output
        if fitted.returncode != 0:
            return self.failed(fitted, log, started, f"Fitting the model exited with code {fitted.returncode}.")
        problem = output_problem(output, MAX_OUTPUT_MB * 1024 * 1024)
        if problem:
            return self.failed(fitted, log, started, problem)
        argv = [*self.evaluate_command,
                *evaluate_argv(job, project, output, base if (base / "mlbot.yaml").is_file() else None)]
        evaluated = self.groups.run(argv, env=evaluate_environment(host, self.tracking_uri),
                                    cwd=self.cwd or Path.cwd(), timeout=deadline - time.monotonic())
        log = "\n".join(part for part in (fitted.output, evaluated.output) if part)
        run_id = parse_run_id(evaluated.output)
        if evaluated.returncode == Transient.TEMPFAIL:  # MLflow was down: the queue runs the job again later
            last = self.safe(evaluated.output).strip().splitlines()[-1:] or ["MLflow is unreachable"]
            raise Transient(f"evaluating {job.sha[:7]} could not reach MLflow ({last[0][:200]})",
                            dependency="MLflow")
        if evaluated.returncode != 0:
            return self.failed(evaluated, log, started, f"Evaluating the model exited with code "
                               f"{evaluated.returncode}.", run_id)
        duration = time.monotonic() - started
        if run_id is None:
            return TrainingOutcome(False, None, self.safe(log), duration,
                                   "Training finished but did not report an MLflow run id.")
        return TrainingOutcome(True, run_id, self.safe(log), duration,
                               f"Training finished in {duration:.0f} s (MLflow run {run_id}).")

    def failed(self, stage: Finished, log: str, started: float, message: str,
               run_id: str | None = None) -> TrainingOutcome:
        """Return the failed outcome, saying so when the stage was timed out or stopped rather than failing."""
        if stage.timed_out:
            message = f"Training timed out after {self.timeout:g} s and was stopped."
        elif stage.stopped:
            message = "Training was stopped because mlbot is shutting down; comment `/retrain` to run it again."
        return TrainingOutcome(False, run_id, self.safe(log), time.monotonic() - started, message)

    def host(self) -> dict[str, str]:
        """The bot's environment, which the allow-lists pick from; the deny-list is a second net under them."""
        return scrubbed_environment() if self.host_env is None else dict(self.host_env)

    def watch(self, job: WatchJob) -> WatchOutcome:
        """Judge one production window: `mlbot watch` (trusted, no sandbox) on the default branch's checkout.

        It runs with the MLflow URI and the data stores' variables only, in the bot's data dir like
        evaluate; raises Transient when MLflow is down (the queue runs the window again later).
        """
        deadline = time.monotonic() + self.timeout
        workdir = Path(tempfile.mkdtemp(prefix="mlbot-watch-"))
        try:
            project, summary = workdir / "project", workdir / "summary.json"
            problem, sha = self.check_out_default(job, project)
            if problem:
                return WatchOutcome(False, None, self.safe(problem), could_not_check_out(job))
            argv = [*self.watch_command, *watch_argv(project, summary)]
            done = self.groups.run(argv, env=evaluate_environment(self.host(), self.tracking_uri),
                                   cwd=self.cwd or Path.cwd(), timeout=deadline - time.monotonic())
            done = replace(done, output=f"watching {job.repo} at {job.branch} {sha[:7]} (window {job.window})\n"
                                        + done.output)
            return watch_outcome(done, summary, self.safe, self.timeout, job.repo)
        finally:
            remove_tree(workdir)

    def refresh(self, job: RefreshJob) -> RefreshOutcome:
        """Run `watch.refresh` on the default branch's checkout; return the files it changed, or why not.

        The command is the team's default-branch code, like `watch.command`: no sandbox, the same
        allow-listed environment (the data stores' variables, never the bot's GitHub credentials) plus
        MLBOT_WATCH_ISSUE and MLBOT_REFRESH_BY, the checkout as its working directory and no remote.
        """
        deadline = time.monotonic() + self.timeout
        workdir = Path(tempfile.mkdtemp(prefix="mlbot-refresh-"))
        try:
            project = workdir / "project"
            problem, sha = self.check_out_default(job, project)
            if problem:
                return RefreshOutcome(False, {}, self.safe(problem), could_not_check_out(job))
            command, problem = refresh_command(project, job.branch)
            if command is None:
                return RefreshOutcome(False, {}, self.safe(problem), problem.splitlines()[0])
            env = refresh_environment(evaluate_environment(self.host(), self.tracking_uri), job)
            done = self.groups.run(["/bin/sh", "-c", command], env=env, cwd=project,
                                   timeout=deadline - time.monotonic())
            failed = refresh_failure(done, self.safe, self.timeout, command)
            if failed is not None:
                return failed
            return self.collect_changes(project, sha, self.safe(done.output))
        finally:
            remove_tree(workdir)

    def collect_changes(self, project: Path, sha: str, log: str) -> RefreshOutcome:
        """What the refresh left in `project` (checked out at `sha`), read from `git status`, or why not."""
        found = changes.after_refresh(project, sha, run_git)
        if found.problem:
            return RefreshOutcome(False, {}, log, found.problem)
        names = sorted(found.files)
        listed = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
        return RefreshOutcome(True, found.files, log, f"The refresh changed {len(names)} "
                                                      f"file{'s' if len(names) != 1 else ''}: {listed}.")

    def check_out_default(self, job: WatchJob | RefreshJob, project: Path) -> tuple[str | None, str]:
        """Clone, detach at `job.sha` (a commit, or a branch name: its head), drop the remote.

        Return (why it failed or None, the commit checked out).
        """
        url = self.source(job)
        try:
            auth, token = self.clone_auth(url, job.repo)
        except MlbotError as error:  # no credential to clone with: the App is not installed, ...
            return error.message, ""
        failed = git(["clone", "--quiet", "--no-checkout", url, str(project)], None, auth)
        if failed is not None:
            return (redact(failed, [token]) if token else failed), ""
        sha = resolve_commit(project, job.sha, auth)
        if sha is None:
            return f"{job.sha} is not a commit or branch of {job.repo}", ""
        failed = git(["checkout", "--quiet", "--detach", sha], project)
        return failed or git(["remote", "remove", "origin"], project), sha

    def safe(self, log: str) -> str:
        """Return the log's tail with every secret the bot holds, and anything token-shaped, redacted."""
        return tail(redact(log, self.secrets), self.log_lines)


def could_not_check_out(job: WatchJob | RefreshJob) -> str:
    """The one sentence for a default branch that could not be cloned or checked out (the log says why)."""
    return f"I could not check out {job.branch} of {job.repo}."


def resolve_commit(project: Path, ref: str, auth: Mapping[str, str]) -> str | None:
    """The commit `ref` names in the clone: a full sha (fetched when no branch has it) or a branch's head."""
    if FULL_SHA.fullmatch(ref):
        if git(["cat-file", "-e", f"{ref}^{{commit}}"], project) is not None:
            git(["fetch", "--quiet", "origin", ref], project, auth)
        candidate = ref
    else:
        candidate = f"refs/remotes/origin/{ref}"
    found = git_output(["rev-parse", "--verify", "--quiet", "--end-of-options", f"{candidate}^{{commit}}"], project)
    return found.decode().strip() if found else None


def refresh_command(project: Path, branch: str) -> tuple[str | None, str]:
    """`watch.refresh` from the checkout's mlbot.yaml, or (None, why there is none to run)."""
    try:
        watch = load_project(project).config.watch
    except MlbotError as error:
        return None, f"mlbot.yaml on {branch} cannot be read, so I cannot find its refresh command.\n{error.message}"
    if watch is None or not watch.refresh:
        return None, (f"mlbot.yaml on {branch} sets no `watch.refresh`, so there is no data-refresh command to run "
                      "(docs/watch.md).")
    return watch.refresh, ""


def remove_tree(path: Path) -> None:
    """Delete the job's tree, even the directories the fit made unreadable (mode 000) to outlive the job."""

    def unlock(_function: object, failed: str, _error: object) -> None:
        with contextlib.suppress(OSError):
            os.chmod(os.path.dirname(failed), 0o700)
            os.chmod(failed, 0o700)
            if os.path.isdir(failed) and not os.path.islink(failed):
                shutil.rmtree(failed, onerror=unlock)
            else:
                os.unlink(failed)

    shutil.rmtree(path, onerror=unlock)


def private_paths(cwd: Path | None, *uris: str) -> list[Path]:
    """Return what the sandbox must never expose: the home dir, the data dir, SQLite stores (MLflow, queue)."""
    paths = [Path.home()] + ([cwd] if cwd is not None else [])
    paths += [Path(uri.removeprefix("sqlite:///")) for uri in uris if uri.startswith("sqlite:///")]
    return paths


def save_base_config(project: Path, branch: str, base: Path) -> None:
    """Write the default branch's `mlbot.yaml` and `policies/*.yaml` under `base` (nothing when it has none)."""
    ref = f"origin/{branch}"
    listed = git_output(["ls-tree", "--name-only", ref, "mlbot.yaml", "policies/"], project)
    for name in (listed or b"").decode(errors="replace").splitlines():
        if name == "mlbot.yaml" or (name.startswith("policies/") and name.endswith((".yaml", ".yml"))):
            content = git_output(["show", f"{ref}:{name}"], project)
            if content is not None:
                (base / name).parent.mkdir(parents=True, exist_ok=True)
                (base / name).write_bytes(content)


def run_git(args: list[str], cwd: Path | None, extra: Mapping[str, str] | None = None) -> tuple[int, bytes, str]:
    """Run git without prompts; return its exit code (-1 when it could not run), stdout and complaint."""
    try:
        done = subprocess.run(["git", *args], cwd=cwd, env={**git_environment(), **(extra or {})},
                              stdin=subprocess.DEVNULL, capture_output=True, timeout=GIT_TIMEOUT, check=False)
    except (OSError, subprocess.TimeoutExpired) as error:
        return -1, b"", str(error)
    lines = (done.stderr or done.stdout).decode(errors="replace").strip().splitlines()
    return done.returncode, done.stdout, lines[-1] if lines else f"exit {done.returncode}"


def git_output(args: list[str], cwd: Path) -> bytes | None:
    """Return git's stdout, or None when it fails."""
    code, out, _ = run_git(args, cwd)
    return out if code == 0 else None


def git_environment() -> dict[str, str]:
    """Return git's environment: no prompts, no GitHub token, App key or webhook secret."""
    return scrubbed_environment({"GIT_TERMINAL_PROMPT": "0", "GIT_ASKPASS": "true"})


def http_auth_environment(token: str) -> dict[str, str]:
    """Return the environment that makes git send `token` to the clone's server (argv is readable by all)."""
    basic = base64.b64encode(f"x-access-token:{token}".encode()).decode()
    return {"GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": "http.extraHeader",
            "GIT_CONFIG_VALUE_0": f"Authorization: Basic {basic}"}


def git(args: list[str], cwd: Path | None, extra: Mapping[str, str] | None = None) -> str | None:
    """Run git; return None on success, else its last error line with any URL credentials hidden."""
    code, _, complaint = run_git(args, cwd, extra)
    # git quotes the URL it failed on; a token embedded in it must not reach a PR comment
    return None if code == 0 else CREDENTIALS.sub("://***@", f"git {args[0]}: {complaint}")
