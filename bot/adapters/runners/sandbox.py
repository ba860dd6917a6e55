"""Run the pull request's fit under bubblewrap: its own namespaces, a read-only world, an allow-listed environment.

What the command sees (SPEC §10): the checkout read-only at /mlbot/project, a private writable
/mlbot/output, a private /tmp, a fresh /proc of its own pid namespace, no network, and read-only
only what Python needs (/usr, the interpreter's prefix, the venv, mlbot's package). Not the bot's
data dir, home, MLflow store or queue; not /proc/<bot pid>/environ (a same-uid child could read it
otherwise: scrubbing the child's own environment hides nothing). Limits come from `prlimit`; the
whole tree dies with the sandbox's pid 1.
"""

from __future__ import annotations

import importlib.util
import logging
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from bot.core.errors import MlbotError

log = logging.getLogger("mlbot.runners")

UNSAFE_SETTING = "MLBOT_UNSAFE_UNSANDBOXED_FIT"
INNER_PROJECT = Path("/mlbot/project")
INNER_OUTPUT = Path("/mlbot/output")
INNER_HOME = "/tmp/home"
SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
# Just what the dynamic linker, time zones and Debian's alternatives symlinks need; no passwd, hosts, resolv.conf
ETC_FILES = ("/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/localtime", "/etc/alternatives")
# The only host variables untrusted code inherits (an allow-list: a secret under any other name stays out)
PASSED_THROUGH = ("LANG", "LANGUAGE", "LC_ALL", "LC_CTYPE", "TZ", "PYTHONHASHSEED", "OMP_NUM_THREADS",
                  "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")
PROBE_TIMEOUT = 30.0
NOBODY = "65534"


class SandboxUnavailable(MlbotError):
    """No working sandbox tool: the local runner refuses to run a pull request's code."""


@dataclass(frozen=True)
class Limits:
    """Resource limits for the fit, applied with `prlimit` to the sandbox and everything in it."""

    memory_mb: int = 8192  # address space per process (RLIMIT_AS), not resident memory
    cpu_seconds: int = 3600  # CPU time per process; SIGXCPU then SIGKILL
    file_mb: int = 2048  # largest file it may write
    processes: int = 512  # RLIMIT_NPROC counts the host uid's processes and is not enforced for root
    tmp_mb: int = 1024  # the private /tmp is memory: cap it apart from RLIMIT_AS

    def prlimit(self, tool: str) -> list[str]:
        """Return the `prlimit` argv prefix that applies these limits to the command after it."""
        mib = 1024 * 1024
        return [tool, f"--as={self.memory_mb * mib}", f"--cpu={self.cpu_seconds}:{self.cpu_seconds + 5}",
                f"--fsize={self.file_mb * mib}", f"--nproc={self.processes}", "--core=0", "--"]


@dataclass(frozen=True)
class Prepared:
    """A command ready for `ProcessGroups.run`: its argv, environment and host working directory."""

    argv: list[str]
    env: dict[str, str]
    cwd: Path


class Sandbox(Protocol):
    """Where the fit runs: `check` refuses when it cannot isolate, `prepare` wraps a command."""

    def check(self) -> None:
        """Raise SandboxUnavailable when commands cannot be isolated here."""
        ...

    def inside(self, project: Path, output: Path) -> tuple[Path, Path]:
        """Return where the checkout and the output dir appear to the command."""
        ...

    def prepare(self, argv: Sequence[str], *, project: Path, output: Path, scratch: Path,
                host_env: Mapping[str, str], extra_env: Mapping[str, str]) -> Prepared:
        """Wrap `argv` to run with the checkout `project` read-only and `output` writable."""
        ...


def python_roots() -> list[Path]:
    """Return what this interpreter and mlbot need to run: prefixes, venv, and mlbot's package dirs."""
    roots = [Path(sys.base_prefix), Path(sys.prefix), Path(sys.exec_prefix)]
    # site-packages reached through a .pth line live outside the prefixes (a venv borrowing another's)
    roots += [Path(entry) for entry in sys.path
              if entry and Path(entry).name in ("site-packages", "dist-packages") and Path(entry).is_dir()]
    for package in ("bot", "bot.policies"):  # an editable install maps bot.policies elsewhere
        spec = importlib.util.find_spec(package)
        if spec is not None and spec.origin:
            roots.append(Path(spec.origin).resolve().parent)
    return outermost(roots)


def outermost(paths: Sequence[Path]) -> list[Path]:
    """Drop duplicates and paths inside another one of `paths` (or inside /usr, bound anyway)."""
    kept: list[Path] = []
    for path in sorted({p.resolve() for p in paths}, key=lambda p: len(p.parts)):
        if not any(path.is_relative_to(other) for other in [*kept, Path("/usr")]):
            kept.append(path)
    return kept


def python_path() -> str:
    """Return the directory mlbot's own package is imported from (a source checkout needs it on PYTHONPATH)."""
    spec = importlib.util.find_spec("bot")
    assert spec is not None and spec.origin is not None
    return str(Path(spec.origin).resolve().parent.parent)


def allowed_environment(host: Mapping[str, str], fixed: Mapping[str, str]) -> dict[str, str]:
    """Build the fit's environment from the allow-list of `host` variables plus `fixed` values."""
    env = {key: host[key] for key in PASSED_THROUGH if key in host}
    env.setdefault("LANG", "C.UTF-8")
    env.setdefault("PYTHONHASHSEED", "0")
    env.update({"PYTHONUNBUFFERED": "1", "PYTHONDONTWRITEBYTECODE": "1", "PYTHONPATH": python_path()})
    if sys.prefix != sys.base_prefix:
        env["VIRTUAL_ENV"] = sys.prefix
    env.update(fixed)
    return env


def search_path(home: str) -> dict[str, str]:
    """Return PATH (this interpreter's bin first, so `python` is mlbot's), HOME and TMPDIR (both `home`)."""
    bins = [str(Path(sys.executable).parent), "/usr/local/bin", "/usr/bin", "/bin"]
    return {"PATH": ":".join(dict.fromkeys(bins)), "HOME": home, "TMPDIR": home}


class Bubblewrap:
    """The real sandbox: `bwrap` namespaces, read-only binds, `prlimit` limits; `check` probes it once."""

    def __init__(self, bwrap: str = "bwrap", *, limits: Limits | None = None, hidden: Sequence[Path] = (),
                 prlimit: str = "prlimit") -> None:
        self.bwrap = bwrap
        self.limits = limits or Limits()
        self.hidden = [Path(p).resolve() for p in hidden]  # what no bind may contain: data dir, store, home
        self.prlimit_tool = prlimit
        self.checked = False

    def tools(self) -> tuple[str, str]:
        """Return the absolute paths of bwrap and prlimit, or raise SandboxUnavailable."""
        bwrap, prlimit = shutil.which(self.bwrap), shutil.which(self.prlimit_tool)
        if bwrap is None:
            raise SandboxUnavailable(
                f"The local runner will not run a pull request's code without a sandbox, and bubblewrap was not "
                f"found at {self.bwrap!r}: install it with `apt-get install bubblewrap` (or set "
                f"{UNSAFE_SETTING}=1 only if every pull request's author is trusted).")
        if prlimit is None:
            raise SandboxUnavailable(
                f"The local runner cannot limit the sandbox's resources because `prlimit` was not found at "
                f"{self.prlimit_tool!r}: install it with `apt-get install util-linux`.")
        return bwrap, prlimit

    def check(self) -> None:
        """Run a trivial command in the sandbox once; raise SandboxUnavailable with bwrap's complaint."""
        if self.checked:
            return
        try:
            with tempfile.TemporaryDirectory(prefix="mlbot-probe-") as tmp:
                probe = self.prepare([sys.executable, "-c", "pass"], project=Path(tmp), output=Path(tmp),
                                     scratch=Path(tmp), host_env={}, extra_env={})
                done = subprocess.run(probe.argv, env=probe.env, stdin=subprocess.DEVNULL, capture_output=True,
                                      text=True, timeout=PROBE_TIMEOUT, check=False)
        except (OSError, subprocess.TimeoutExpired) as error:
            complaint = str(error)
        else:
            if done.returncode == 0:
                self.checked = True
                return
            lines = (done.stderr or done.stdout).strip().splitlines()
            complaint = lines[-1] if lines else f"exit {done.returncode}"
        raise SandboxUnavailable(
            f"The local runner will not run a pull request's code because bubblewrap cannot create its sandbox "
            f"here ({complaint}): allow unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1, "
            f"or the AppArmor userns restriction) or run mlbot where they work.")

    def binds(self, project: Path, output: Path) -> list[str]:
        """Return bwrap's mount arguments: system dirs and Python read-only, checkout ro, output rw."""
        args: list[str] = []
        for name in SYSTEM_DIRS:
            path = Path(name)
            if path.is_symlink():  # merged /usr: /bin -> usr/bin
                args += ["--symlink", str(path.readlink()), name]
            elif path.is_dir():
                args += ["--ro-bind", name, name]
        for name in ETC_FILES:
            args += ["--ro-bind-try", name, name]
        args += ["--proc", "/proc", "--dev", "/dev", "--size", str(self.limits.tmp_mb * 1024 * 1024),
                 "--tmpfs", "/tmp", "--dir", INNER_HOME]  # HOME: empty even when a bind below lands in /tmp
        for root in python_roots():
            args += ["--ro-bind", str(root), str(root)]
        args += ["--ro-bind", str(project), str(INNER_PROJECT), "--bind", str(output), str(INNER_OUTPUT),
                 "--remount-ro", "/"]
        return args

    def inside(self, project: Path, output: Path) -> tuple[Path, Path]:
        """Return the fixed mount points: the command never learns the host paths."""
        return INNER_PROJECT, INNER_OUTPUT

    def prepare(self, argv: Sequence[str], *, project: Path, output: Path, scratch: Path,
                host_env: Mapping[str, str], extra_env: Mapping[str, str]) -> Prepared:
        """Wrap `argv` in prlimit + bwrap; the same allow-listed environment is bwrap's own (its /proc/1)."""
        self.refuse_exposing([*python_roots(), project, output])
        bwrap, prlimit = self.tools()
        namespaces = ["--unshare-all", "--unshare-user", "--disable-userns", "--cap-drop", "ALL",
                      "--uid", NOBODY, "--gid", NOBODY, "--hostname", "mlbot-fit",
                      "--die-with-parent", "--new-session"]
        wrapped = [*self.limits.prlimit(prlimit), bwrap, *namespaces, *self.binds(project, output),
                   "--chdir", str(INNER_PROJECT), "--", *argv]
        env = allowed_environment(host_env, {**search_path(INNER_HOME), **extra_env})
        return Prepared(wrapped, env, scratch)

    def refuse_exposing(self, binds: Sequence[Path]) -> None:
        """Raise SandboxUnavailable when a bind would show the sandbox one of the hidden paths."""
        for bind in binds:
            for hidden in self.hidden:
                if hidden.is_relative_to(bind.resolve()):
                    raise SandboxUnavailable(
                        f"The sandbox would expose {hidden} because it lies inside {bind}, which the fit needs "
                        f"read-only: move the bot's data dir (or MLflow store) out of {bind}.")


class Unsandboxed:
    """The opt-out: limits and an allow-listed environment, but no namespaces; warns at every use."""

    def __init__(self, *, limits: Limits | None = None, prlimit: str = "prlimit") -> None:
        self.limits = limits or Limits()
        self.prlimit_tool = prlimit

    def check(self) -> None:
        """Warn: the pull request's code will run as the bot's user and can read its secrets."""
        log.warning("%s is set: the pull request's fit runs WITHOUT a sandbox, as mlbot's own user, and can read "
                    "mlbot's secrets through /proc; use this only when every pull request's author is trusted.",
                    UNSAFE_SETTING)

    def inside(self, project: Path, output: Path) -> tuple[Path, Path]:
        """Return the host paths: nothing is mounted."""
        return project, output

    def prepare(self, argv: Sequence[str], *, project: Path, output: Path, scratch: Path,
                host_env: Mapping[str, str], extra_env: Mapping[str, str]) -> Prepared:
        """Apply the limits (when prlimit exists) and the allow-listed environment; run in the checkout."""
        prlimit = shutil.which(self.prlimit_tool)
        wrapped = [*self.limits.prlimit(prlimit), *argv] if prlimit else list(argv)
        home = scratch / "home"
        home.mkdir(parents=True, exist_ok=True)
        return Prepared(wrapped, allowed_environment(host_env, {**search_path(str(home)), **extra_env}), project)


def choose_sandbox(*, unsafe: bool, bwrap: str = "bwrap", limits: Limits | None = None,
                   hidden: Sequence[Path] = ()) -> Sandbox:
    """Return bubblewrap, or the loudly named opt-out when `unsafe` is set."""
    if unsafe:
        return Unsandboxed(limits=limits)
    return Bubblewrap(bwrap, limits=limits, hidden=hidden)
