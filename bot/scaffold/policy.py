"""The gates `mlbot init` writes: mlbot's default policy, its regression margin scaled to the data.

The default non-inferiority margin (`max_drop: 0.01`) suits metrics between 0 and 1. A regression's
primary metric (rmse) is in the target's units — about 58 on scikit-learn's diabetes data — where
0.01 is nothing: every comparison would stay inconclusive. So `init` writes a margin of
MARGIN_SHARE × the target's standard deviation in the training rows, and says so in a comment.
"""

from __future__ import annotations

import difflib
import importlib
import importlib.resources
import math
import re

from bot.core.errors import MlbotError, UsageError
from bot.core.judge.metrics import Task

# A regression may lose this share of the target's standard deviation and still pass.
MARGIN_SHARE = 0.05
# The primary gate's margin in the shipped default policy, as text.
_PRIMARY_MARGIN = re.compile(r"(?P<head>metric: primary\s*\n\s*vs_production: \{max_drop: )(?P<value>[0-9.eE+-]+)")


def default_policy() -> str:
    """The default gates, as shipped with mlbot."""
    try:  # bot.core.policy owns the default; it may not be installed in older builds
        reader = getattr(importlib.import_module("bot.core.policy"), "default_policy_text", None)
    except ImportError:
        reader = None
    if reader is not None:
        return str(reader())
    resource = importlib.resources.files("bot.policies") / "default.yaml"
    if not resource.is_file():
        raise MlbotError("this mlbot installation has no default policy file",
                         hint="reinstall it: pip install --force-reinstall mlbot-gitops")
    return resource.read_text()


def library() -> dict[str, str]:
    """The policies mlbot ships (the top-level `policies/` of its repository), by name."""
    folder = importlib.resources.files("bot.policies")
    return {item.name.removesuffix(".yaml"): item.read_text(encoding="utf-8")
            for item in sorted(folder.iterdir(), key=lambda i: i.name) if item.name.endswith(".yaml")}


def library_policy(name: str) -> str:
    """The shipped policy `name`; a UsageError naming the ones there are (and the nearest) otherwise."""
    found = library()
    if name in found:
        return default_policy() if name == "default" else found[name]
    close = difflib.get_close_matches(name, list(found), n=1)
    raise UsageError(f"mlbot ships no policy called {name!r}; it ships {', '.join(sorted(found))}",
                     hint=f"did you mean --policy {close[0]}?" if close else "see policies/README.md in mlbot")


def round_margin(value: float) -> float:
    """Two significant digits: a margin a person reads and edits, not 3.8561..."""
    if value <= 0 or not math.isfinite(value):
        return 0.0
    return round(value, 1 - math.floor(math.log10(value)))


def scaled_margin(target_std: float) -> float:
    """The primary gate's `max_drop` for a regression whose target has this standard deviation."""
    return round_margin(MARGIN_SHARE * target_std)


def render_policy(task: Task, target: str, target_std: float | None,
                  name: str = "default") -> tuple[str, str | None]:
    """The policy text for a new project, and a note when its margin was scaled (or could not be)."""
    text = library_policy(name)
    if task != "regression" or target_std is None:
        return text, None
    margin = scaled_margin(target_std)
    match = _PRIMARY_MARGIN.search(text)
    if match is None or margin <= 0:
        return text, (f"the primary gate's margin is in the units of {target!r}: edit it in "
                      f"policies/{name}.yaml to the change you care about")
    gate_start = text.rfind("\n  - name:", 0, match.start()) + 1
    line_start = gate_start  # the gate's own comment lines (they quote the old margin) are replaced
    while line_start > 0:
        previous = text.rfind("\n", 0, line_start - 1) + 1
        if not text[previous:line_start].lstrip().startswith("#"):
            break
        line_start = previous
    comment = (f"  # Scaled to your data by `mlbot init`: rmse and mae are in the units of {target!r}, so\n"
               f"  # the margin is {MARGIN_SHARE:.0%} of its standard deviation in your data "
               f"({target_std:.4g}).\n"
               "  # Set it to the worst regression you accept; a fixed 0.01 would leave every comparison\n"
               "  # inconclusive. (If you make r2 the primary metric, use a margin such as 0.01 again.)\n")
    text = (text[:line_start] + comment + text[gate_start:match.start()] + match.group("head")
            + f"{margin:g}" + text[match.end():])
    return text, (f"scaled the primary gate's margin to {target!r}: max_drop {margin:g} "
                  f"({MARGIN_SHARE:.0%} of its standard deviation {target_std:.4g})")
