"""Check runs, commit statuses, workflow dispatches and runs, deployments and annotated tags."""

from __future__ import annotations

import re
import zlib
from typing import Any

import yaml

from bot.sandbox import gitops, payloads_ci
from bot.sandbox.core import SandboxCore
from bot.sandbox.state import (
    ApiError,
    CheckRun,
    Deployment,
    DeploymentStatus,
    Status,
    Tag,
    WorkflowRun,
    now,
    owned,
)

CHECK_STATUSES = ("queued", "in_progress", "completed", "waiting", "requested", "pending")
CONCLUSIONS = ("success", "failure", "neutral", "cancelled", "skipped", "timed_out", "action_required",
               "stale")
STATUS_STATES = ("error", "failure", "pending", "success")
DEPLOY_STATES = ("error", "failure", "inactive", "in_progress", "queued", "pending", "success")


def _invalid(field: str, value: Any) -> ApiError:
    return ApiError(422, f"Invalid request.\n\n{value!r} is not a valid value for {field}.",
                    errors=[{"resource": "Request", "field": field, "code": "invalid"}])


class CiOps(SandboxCore):
    """What CI and the bot write against commits: checks, statuses, runs, deployments, tags."""

    # --- check runs -------------------------------------------------------------------------

    def create_check_run(self, repo: str, by: str, body: dict[str, Any]) -> CheckRun:
        """Create a check run from a REST body."""
        target = self.require_write(repo, by)
        if not body.get("name") or not body.get("head_sha"):
            raise ApiError(422, "Invalid request.\n\n\"name\" and \"head_sha\" are required.")
        if gitops.rev_parse(target.path, str(body["head_sha"])) is None:
            raise ApiError(422, "No commit found for SHA: " + str(body["head_sha"]))
        with self.store.lock:
            run = CheckRun(self.store.new_id(), target.full_name, str(body["head_sha"]), str(body["name"]),
                           "queued", None, None, None, {}, None, None, by)
            self._apply_check(run, body)
            self.store.check_runs[run.id] = run
            return run

    def update_check_run(self, repo: str, by: str, check_run_id: int, body: dict[str, Any]) -> CheckRun:
        """Update a check run from a REST body."""
        self.require_write(repo, by)
        with self.store.lock:
            run = owned(self.store.check_runs, check_run_id, repo)
            self._apply_check(run, body)
            return run

    def _apply_check(self, run: CheckRun, body: dict[str, Any]) -> None:
        status = body.get("status")
        conclusion = body.get("conclusion")
        if status is not None and status not in CHECK_STATUSES:
            raise _invalid("status", status)
        if conclusion is not None and conclusion not in CONCLUSIONS:
            raise _invalid("conclusion", conclusion)
        if conclusion is not None:
            status = "completed"
        if status == "completed" and conclusion is None and run.conclusion is None:
            raise ApiError(422, "Invalid request.\n\n\"conclusion\" is required when status is completed.")
        if status:
            run.status = status
        if status in ("in_progress", "completed") and run.started_at is None:
            run.started_at = body.get("started_at") or now()
        if conclusion:
            run.conclusion = conclusion
            run.completed_at = body.get("completed_at") or now()
        for key in ("details_url", "external_id"):
            if key in body:
                setattr(run, key, body[key])
        if isinstance(body.get("output"), dict):
            output = body["output"]
            if "title" not in output or "summary" not in output:
                raise ApiError(422, "Invalid request.\n\n\"title\" and \"summary\" are required in output.")
            if len(str(output.get("summary", ""))) > 65535 or len(str(output.get("text") or "")) > 65535:
                raise ApiError(422, "Invalid request.\n\nOutput summary and text are limited to 65535 "
                                    "characters.")
            run.output = {k: output.get(k) for k in ("title", "summary", "text")}

    def check_runs(self, repo: str, sha: str) -> list[CheckRun]:
        """Every check run on `sha`, oldest first."""
        with self.store.lock:
            return [r for r in self.store.check_runs.values()
                    if r.repo.lower() == repo.lower() and r.head_sha == sha]

    # --- commit statuses --------------------------------------------------------------------

    def create_status(self, repo: str, by: str, sha: str, body: dict[str, Any]) -> Status:
        """Create a commit status."""
        target = self.require_write(repo, by)
        state = body.get("state")
        if state not in STATUS_STATES:
            raise _invalid("state", state)
        if gitops.rev_parse(target.path, sha) is None:
            raise ApiError(422, f"No commit found for SHA: {sha}")
        with self.store.lock:
            item = Status(self.store.new_id(), target.full_name, sha, str(state),
                          str(body.get("context") or "default"), body.get("description"),
                          body.get("target_url"), by, now())
            self.store.statuses.append(item)
            return item

    def statuses(self, repo: str, sha: str) -> list[Status]:
        """Every status on `sha`, oldest first."""
        with self.store.lock:
            return [s for s in self.store.statuses if s.repo.lower() == repo.lower() and s.sha == sha]

    # --- workflows --------------------------------------------------------------------------

    def workflow(self, repo: str, workflow_id: str, ref: str | None = None) -> tuple[int, str, str, str]:
        """(id, path, name, text) of a workflow named by file name or id, at `ref`."""
        target = self.store.repo(repo)
        ref = ref or target.default_branch
        for entry in gitops.list_tree(target.path, ref, ".github/workflows") or []:
            path = f".github/workflows/{entry.name}"
            number = zlib.crc32(path.encode())
            if workflow_id in (entry.name, path, str(number)):
                text = (gitops.read_blob(target.path, ref, path) or b"").decode(errors="replace")
                try:
                    name = str((yaml.safe_load(text) or {}).get("name") or path)
                except yaml.YAMLError:
                    name = path
                return number, path, name, text
        raise ApiError(404, "Not Found")

    def dispatch(self, repo: str, by: str, workflow_id: str, ref: str, inputs: dict[str, Any]) -> WorkflowRun:
        """Record a `workflow_dispatch` as a queued run (the test or demo completes it)."""
        target = self.require_write(repo, by)
        sha = gitops.rev_parse(target.path, f"refs/heads/{ref}") or gitops.rev_parse(target.path, ref)
        if sha is None:
            raise ApiError(422, f"No ref found for: {ref}")
        number, path, name, text = self.workflow(repo, workflow_id, sha)
        if "workflow_dispatch" not in text:
            raise ApiError(422, "Workflow does not have 'workflow_dispatch' trigger")
        with self.store.lock:
            previous = sum(1 for r in self.store.runs.values() if r.workflow_id == number)
            run = WorkflowRun(self.store.new_id(), target.full_name, number, path, name, ref, sha,
                              dict(inputs), by, _display_title(text, name, inputs), previous + 1, now(),
                              now())
            self.store.runs[run.id] = run
            return run

    def dispatches(self, repo: str) -> list[WorkflowRun]:
        """Every dispatched run of `repo`, oldest first."""
        with self.store.lock:
            return [r for r in self.store.runs.values() if r.repo.lower() == repo.lower()]

    def complete_workflow_run(self, repo: str, dispatch: WorkflowRun | int,
                              conclusion: str = "success") -> None:
        """Finish a dispatched run and emit `workflow_run` completed, as Actions would."""
        run_id = dispatch if isinstance(dispatch, int) else dispatch.id
        if conclusion not in CONCLUSIONS:
            raise ValueError(f"unknown conclusion {conclusion!r}")
        with self.store.lock:
            run = self.store.runs[run_id]
            run.status, run.conclusion, run.updated_at = "completed", conclusion, now()
            target = self.store.repo(repo)
            workflow = payloads_ci.workflow(self.base_url, run.repo, run.workflow_id, run.workflow_path,
                                            run.workflow_name)
            body = {"action": "completed", "workflow": workflow,
                    "workflow_run": payloads_ci.workflow_run(self.base_url, self.store, run)}
            self.emit("workflow_run", target, run.actor, body)

    # --- deployments ------------------------------------------------------------------------

    def create_deployment(self, repo: str, by: str, body: dict[str, Any]) -> Deployment:
        """Create a deployment of a ref."""
        target = self.require_write(repo, by)
        ref = str(body.get("ref") or "")
        sha = gitops.rev_parse(target.path, f"refs/heads/{ref}") or gitops.rev_parse(target.path, ref)
        if sha is None:
            raise ApiError(422, f"No ref found for: {ref}")
        contexts = body.get("required_contexts")
        if contexts is None and any(s.state != "success" for s in self.statuses(repo, sha)):
            raise ApiError(409, "Conflict: Commit status checks failed for " + ref)
        with self.store.lock:
            item = Deployment(self.store.new_id(), target.full_name, sha, ref,
                              str(body.get("task") or "deploy"),
                              str(body.get("environment") or "production"), body.get("description"),
                              body.get("payload") or {}, by, now())
            self.store.deployments[item.id] = item
            return item

    def create_deployment_status(self, repo: str, by: str, deployment_id: int,
                                 body: dict[str, Any]) -> tuple[Deployment, DeploymentStatus]:
        """Add a status to a deployment."""
        self.require_write(repo, by)
        state = body.get("state")
        if state not in DEPLOY_STATES:
            raise _invalid("state", state)
        with self.store.lock:
            item = owned(self.store.deployments, deployment_id, repo)
            status = DeploymentStatus(self.store.new_id(), str(state), str(body.get("description") or ""),
                                      str(body.get("environment_url") or ""),
                                      str(body.get("log_url") or body.get("target_url") or ""), by, now())
            item.statuses.append(status)
            return item, status

    def deployments(self, repo: str) -> list[Deployment]:
        """Every deployment of `repo`, newest first (as GitHub lists them)."""
        with self.store.lock:
            return sorted((d for d in self.store.deployments.values() if d.repo.lower() == repo.lower()),
                          key=lambda d: -d.id)

    # --- tags -------------------------------------------------------------------------------

    def create_tag_object(self, repo: str, by: str, body: dict[str, Any]) -> Tag:
        """Write an annotated tag object (the ref comes separately, as on GitHub)."""
        target = self.require_write(repo, by)
        name, sha, kind = body.get("tag"), str(body.get("object") or ""), str(body.get("type") or "commit")
        if not name or gitops.object_type(target.path, sha) != kind:
            raise ApiError(422, "Object does not exist" if name else 'Invalid request.\n\n"tag" is required.')
        tagger = body.get("tagger") or {}
        sig = gitops.Signature(str(tagger.get("name") or by),
                               str(tagger.get("email") or self.signature(by).email))
        with self.store.lock:
            message = str(body.get("message") or "")
            tag_sha = gitops.make_tag(target.path, str(name), sha, kind, message, sig)
            tag = Tag(tag_sha, str(name), message, sha, kind, sig.name, sig.email, now())
            self.store.tags[tag_sha] = tag
            return tag

    def create_ref(self, repo: str, by: str, ref: str, sha: str) -> tuple[str, str]:
        """Create `ref` (fully qualified) at `sha`; return (sha, object type)."""
        target = self.require_write(repo, by)
        if not re.fullmatch(r"refs/[^\s~^:?*\[\\]+", ref) or ref.count("/") < 2:
            raise ApiError(422, "Reference name is not well-formed")
        kind = gitops.object_type(target.path, sha)
        if kind is None:
            raise ApiError(422, "Object does not exist")
        with self.store.lock:
            if gitops.ref_sha(target.path, ref) is not None:
                raise ApiError(422, "Reference already exists")
            gitops.update_ref(target.path, ref, sha)
        return sha, kind

    def tags(self, repo: str) -> dict[str, str]:
        """Tag name -> the commit it finally points at, for every tag ref of `repo`."""
        target = self.store.repo(repo)
        refs = gitops.list_refs(target.path, "refs/tags/")
        return {ref.removeprefix("refs/tags/"): gitops.rev_parse(target.path, sha) or sha
                for ref, sha in refs.items()}


EXPRESSION = re.compile(r"\$\{\{(.*?)\}\}")
INPUT = re.compile(r"(?:github\.event\.)?inputs\.([A-Za-z0-9_-]+)")
LITERAL = re.compile(r"'((?:[^']|'')*)'")


def _display_title(workflow_text: str, name: str, inputs: dict[str, Any]) -> str:
    """Evaluate the workflow's `run-name:` the way Actions does for a `workflow_dispatch`."""
    try:
        run_name = (yaml.safe_load(workflow_text) or {}).get("run-name")
    except yaml.YAMLError:
        run_name = None
    if not isinstance(run_name, str):
        return name
    return EXPRESSION.sub(lambda m: evaluate_or(m.group(1), inputs), run_name)


def evaluate_or(expression: str, inputs: dict[str, Any]) -> str:
    """`a || b || c`: the first non-empty operand; `inputs.X` from the dispatch, other contexts empty."""
    for operand in expression.split("||"):
        operand = operand.strip()
        literal = LITERAL.fullmatch(operand)
        if literal:
            value = literal.group(1).replace("''", "'")
        else:
            field = INPUT.fullmatch(operand)
            value = str(inputs.get(field.group(1), "")) if field else ""  # e.g. github.sha: not a dispatch fact
        if value:
            return value
    return ""
