"""Train with your own code: mlbot sets MLBOT_* variables, this script writes the model in skops format.

mlbot then loads that model with its safe loader (scikit-learn types only, no pickle) and scores it
(and production) on the eval rows itself. A joblib/pickle file is refused: loading one runs code.
"""

from __future__ import annotations

import json
import os

import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from bot.training.safe_model import save


def main() -> None:
    target = os.environ["MLBOT_TARGET"]
    params = json.loads(os.environ.get("MLBOT_PARAMS", "{}"))
    train = pd.read_csv(os.environ["MLBOT_TRAIN_PATH"])
    features = train.drop(columns=[target, "id"])  # the model gets every column except target and id
    model = make_pipeline(StandardScaler(), LogisticRegression(**params))
    model.fit(features, train[target])
    print(f"trained on {len(train)} rows with {params}")
    save(model, os.environ["MLBOT_MODEL_PATH"])  # or skops.io.dump(model, path)


if __name__ == "__main__":
    main()
