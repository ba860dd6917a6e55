"""Which code-free model format: skops vs ONNX, measured on mlbot's own declarative pipelines.

For every scikit-learn classifier and regressor that fits with default params inside mlbot's
preprocessing pipeline (numeric + one categorical column), and for a 200-tree RandomForest:
does the format store it, does it give back the same predictions, how big is the file, how long
do save and load take. ONNX is measured when skl2onnx and onnxruntime are importable.

    PYTHONPATH=. python benchmarks/model_format.py
"""

from __future__ import annotations

import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.datasets import load_breast_cancer, load_diabetes
from sklearn.utils.discovery import all_estimators

from bot.training import estimators, safe_model

warnings.filterwarnings("ignore")


def frames(categorical: bool) -> dict[str, tuple[pd.DataFrame, pd.Series]]:
    out = {}
    for kind, loader in (("classifier", load_breast_cancer), ("regressor", load_diabetes)):
        features, target = loader(return_X_y=True, as_frame=True)
        features = features.copy()
        if categorical:
            features["region"] = np.where(features.index % 3 == 0, "north", "south")
        out[kind] = (features, target)
    return out


def skops_roundtrip(model: Any, rows: pd.DataFrame, tmp: Path) -> tuple[bool, int, float, float]:
    path = tmp / "m.skops"
    start = time.perf_counter()
    safe_model.save(model, path)
    saved = time.perf_counter() - start
    start = time.perf_counter()
    loaded = safe_model.load(path)
    load_s = time.perf_counter() - start
    same = bool(np.array_equal(np.asarray(loaded.predict(rows)), np.asarray(model.predict(rows))))
    return same, path.stat().st_size, saved, load_s


def onnx_roundtrip(model: Any, rows: pd.DataFrame) -> tuple[bool, int, float, float]:
    import onnxruntime
    from skl2onnx import to_onnx

    # ONNX runtimes implement float32 kernels best: give the converter float32 numeric columns
    rows = rows.astype({c: np.float32 for c in rows.columns if rows[c].dtype != object})
    start = time.perf_counter()
    proto = to_onnx(model, rows.head(1), target_opset=18)
    data = proto.SerializeToString()
    saved = time.perf_counter() - start
    start = time.perf_counter()
    session = onnxruntime.InferenceSession(data, providers=["CPUExecutionProvider"])
    load_s = time.perf_counter() - start
    # skl2onnx renames inputs (spaces become `_`): feed them in column order
    feed = {i.name: rows[c].to_numpy().reshape(-1, 1) for i, c in zip(session.get_inputs(), rows.columns, strict=True)}
    got = np.asarray(session.run(None, feed)[0]).ravel()
    want = np.asarray(model.predict(rows)).ravel()
    same = bool(np.allclose(got.astype(float), want.astype(float), rtol=1e-4, atol=1e-4))
    return same, len(data), saved, load_s


def coverage(formats: list[str], categorical: bool, tmp: Path) -> None:
    """How many of scikit-learn's estimators each format stores with identical predictions."""
    tally: dict[str, dict[str, Any]] = {f: {"stored": 0, "same": 0, "failed": []} for f in formats}
    fitted = 0
    for kind, (features, target) in frames(categorical).items():
        for name, cls in all_estimators(type_filter=kind):
            try:
                model = estimators.pipeline(cls(), features)
                model.fit(features, target)
            except Exception:  # needs params or data this benchmark does not give: not an mlbot case
                continue
            fitted += 1
            rows = features.head(50)
            for fmt in formats:
                try:
                    same = (skops_roundtrip(model, rows, tmp) if fmt == "skops" else onnx_roundtrip(model, rows))[0]
                except Exception as error:
                    tally[fmt]["failed"].append(f"{name} ({type(error).__name__})")
                    continue
                tally[fmt]["stored"] += 1
                tally[fmt]["same"] += int(same)
                if not same:
                    tally[fmt]["failed"].append(f"{name} (predictions differ)")
    columns = "numeric columns + one categorical" if categorical else "numeric columns only"
    print(f"{fitted} estimators fit inside mlbot's pipeline with default params ({columns}):")
    for fmt in formats:
        entry = tally[fmt]
        print(f"  {fmt:<6} stores {entry['stored']}/{fitted}, identical predictions {entry['same']}/{fitted}")
        if entry["failed"]:
            more = len(entry["failed"]) - 8
            print(f"         not covered: {', '.join(entry['failed'][:8])}" + (f" and {more} more" if more > 0 else ""))


def forest(formats: list[str], tmp: Path) -> None:
    """Size and save/load time of a 200-tree forest in each format (cloudpickle for reference)."""
    import cloudpickle  # type: ignore[import-untyped]
    from sklearn.ensemble import RandomForestClassifier

    for categorical in (True, False):
        features, target = frames(categorical)["classifier"]
        model = estimators.pipeline(RandomForestClassifier(n_estimators=200, random_state=0), features)
        model.fit(features, target)
        start = time.perf_counter()
        pickled = cloudpickle.dumps(model)
        pickle_s = time.perf_counter() - start
        print(f"RandomForest(200 trees) in mlbot's pipeline, breast-cancer, "
              f"{'with' if categorical else 'without'} a categorical column:")
        print(f"  cloudpickle  {len(pickled) / 1e6:6.2f} MB  save {pickle_s * 1000:7.1f} ms  (runs code when loaded)")
        for fmt in formats:
            try:
                same, size, saved, loaded = (skops_roundtrip(model, features, tmp) if fmt == "skops"
                                             else onnx_roundtrip(model, features))
            except Exception as error:
                print(f"  {fmt:<11}  cannot store it ({type(error).__name__}: {str(error)[:90]})")
                continue
            print(f"  {fmt:<11}  {size / 1e6:6.2f} MB  save {saved * 1000:7.1f} ms  load {loaded * 1000:7.1f} ms"
                  f"  identical predictions: {same}")


def main() -> None:
    try:
        import onnxruntime  # noqa: F401
        import skl2onnx  # noqa: F401
        formats = ["skops", "onnx"]
    except ImportError:
        formats = ["skops"]
        print("skl2onnx/onnxruntime not importable: measuring skops only")
    with tempfile.TemporaryDirectory() as tmp:
        for categorical in (True, False):
            coverage(formats, categorical, Path(tmp))
        forest(formats, Path(tmp))


if __name__ == "__main__":
    main()
