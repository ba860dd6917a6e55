"""Train with your own code: mlbot sets MLBOT_* variables, this script writes a joblib model.

mlbot then loads that model and scores it (and production) on the eval rows itself.
"""

from __future__ import annotations

import json
import os

import joblib
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler


def main() -> None:
    target = os.environ["MLBOT_TARGET"]
    params = json.loads(os.environ.get("MLBOT_PARAMS", "{}"))
    train = pd.read_csv(os.environ["MLBOT_TRAIN_PATH"])
    features = train.drop(columns=[target, "id"])  # the model gets every column except target and id
    model = make_pipeline(StandardScaler(), LogisticRegression(**params))
    model.fit(features, train[target])
    print(f"trained on {len(train)} rows with {params}")
    joblib.dump(model, os.environ["MLBOT_MODEL_PATH"])


if __name__ == "__main__":
    main()
