"""Print the exact versions of every package the service runs on, as installed here (a constraints file).

    .venv/bin/python scripts/pin_service.py > constraints/service.txt

pyproject.toml keeps lower bounds for users who install the package; deployments of the service
install with `pip install -c constraints/service.txt mlbot-gitops`, the set `make test` ran.
"""

from __future__ import annotations

import re
from importlib import metadata

from packaging.requirements import Requirement


def closure(root: str) -> dict[str, tuple[str, str]]:
    """Every distribution `root` needs (no extras), by normalised name: (name, version)."""
    seen: dict[str, tuple[str, str]] = {}
    todo = [root]
    while todo:
        name = todo.pop()
        key = re.sub(r"[-_.]+", "-", name).lower()
        if key in seen:
            continue
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        seen[key] = (dist.metadata["Name"], dist.version)
        for raw in dist.requires or []:
            requirement = Requirement(raw)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                todo.append(requirement.name)
    return seen


def main() -> None:
    print("# Exact versions the service is tested with; regenerate with scripts/pin_service.py.")
    for key, (name, version) in sorted(closure("mlbot-gitops").items()):
        if key != "mlbot-gitops":
            print(f"{name}=={version}")


if __name__ == "__main__":
    main()
