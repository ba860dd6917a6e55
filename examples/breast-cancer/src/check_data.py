"""A small data sanity check the team runs before opening a pull request: python src/check_data.py"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

DATA = Path(__file__).resolve().parent.parent / "data"


def main() -> int:
    train, evaluation = pd.read_csv(DATA / "train.csv"), pd.read_csv(DATA / "eval.csv")
    problems = []
    if set(train["id"]) & set(evaluation["id"]):
        problems.append("train and eval share row ids")
    if list(train.columns) != list(evaluation.columns):
        problems.append("train and eval columns differ")
    for name, frame in (("train", train), ("eval", evaluation)):
        if frame.isna().any().any():
            problems.append(f"{name} has missing values")
    for problem in problems:
        print(f"problem: {problem}")
    print(f"{len(train)} train rows, {len(evaluation)} eval rows, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
