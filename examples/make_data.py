"""Regenerate the example datasets from scikit-learn's bundled data (deterministic: same bytes every run).

    python examples/make_data.py
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd
from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris
from sklearn.model_selection import train_test_split

HERE = Path(__file__).resolve().parent
REGIONS = ("north", "south", "west")
SEED = 0


def region(index: int) -> str:
    """A stable pseudo-random region per row, so per-slice metrics have something to slice."""
    digest = hashlib.sha256(f"row-{index}".encode()).digest()
    return REGIONS[digest[0] % len(REGIONS)]


def write(frame: pd.DataFrame, target: str, directory: Path, stratify: bool) -> None:
    """Split 80/20 (seeded, stratified for classification) into data/train.csv and data/eval.csv."""
    train, evaluation = train_test_split(frame, test_size=0.2, random_state=SEED,
                                         stratify=frame[target] if stratify else None)
    out = directory / "data"
    out.mkdir(parents=True, exist_ok=True)
    for name, part in (("train", train), ("eval", evaluation)):
        part.sort_values("id").to_csv(out / f"{name}.csv", index=False, float_format="%.6g",
                                      lineterminator="\n")
    print(f"{directory.name}: {len(train)} train rows, {len(evaluation)} eval rows")


def with_id(frame: pd.DataFrame) -> pd.DataFrame:
    frame.insert(0, "id", range(1, len(frame) + 1))
    return frame


def main() -> None:
    cancer = with_id(load_breast_cancer(as_frame=True).frame.rename(columns={"target": "label"}))
    cancer.insert(1, "region", [region(i) for i in range(len(cancer))])
    write(cancer, "label", HERE / "breast-cancer", stratify=True)

    diabetes = load_diabetes(as_frame=True, scaled=False).frame.rename(columns={"target": "progression"})
    diabetes = with_id(diabetes)
    write(diabetes, "progression", HERE / "diabetes", stratify=False)

    iris = load_iris(as_frame=True)
    flowers = with_id(iris.frame.rename(columns={"target": "species"}))
    flowers["species"] = [str(iris.target_names[i]) for i in flowers["species"]]
    write(flowers, "species", HERE / "command-mode", stratify=True)


if __name__ == "__main__":
    main()
