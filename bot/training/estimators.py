"""Declarative mode: resolve `train.estimator`, check its params, wrap it in a preprocessing Pipeline."""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Mapping
from typing import Any

import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from bot.core.config import CONFIG_FILE, Project
from bot.core.errors import ConfigError, Problem

ESTIMATOR_KEY = "train.estimator"


def resolve(path: str) -> tuple[type[Any] | None, Problem | None]:
    """Import the class named by a dotted path, or say why it cannot be used."""
    module_name, _, name = path.rpartition(".")
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        return None, Problem(CONFIG_FILE, ESTIMATOR_KEY,
                             f"cannot import module {module_name!r} ({error}); install it or fix the path")
    found = getattr(module, name, None)
    if found is None:
        close = difflib.get_close_matches(name, [n for n in dir(module) if not n.startswith("_")], n=1)
        hint = f"; did you mean {module_name}.{close[0]}?" if close else ""
        return None, Problem(CONFIG_FILE, ESTIMATOR_KEY, f"{module_name} has no {name!r}{hint}")
    if not isinstance(found, type) or not hasattr(found, "fit") or not hasattr(found, "predict"):
        return None, Problem(CONFIG_FILE, ESTIMATOR_KEY,
                             f"{path} is not an estimator class with fit() and predict()")
    return found, None


def param_problems(cls: type[Any], params: Mapping[str, Any]) -> list[Problem]:
    """Params the estimator does not know or rejects (checked without fitting)."""
    known = cls().get_params(deep=False) if issubclass(cls, BaseEstimator) else None
    problems = []
    for key in params:
        if known is not None and key not in known:
            close = difflib.get_close_matches(key, list(known), n=1)
            hint = f"did you mean {close[0]!r}?" if close else f"known: {', '.join(sorted(known))}"
            problems.append(Problem(CONFIG_FILE, f"train.params.{key}",
                                    f"unknown parameter for {cls.__name__}; {hint}"))
    if problems:
        return problems
    try:
        estimator = cls(**params)
        validate = getattr(estimator, "_validate_params", None)  # sklearn's own check, no fit needed
        if validate is not None:
            validate()
    except (TypeError, ValueError) as error:
        bad = next((k for k in params if f"'{k}'" in str(error)), None)
        key = f"train.params.{bad}" if bad else "train.params"
        return [Problem(CONFIG_FILE, key, str(error).rstrip("."))]
    return []


def make(path: str, params: Mapping[str, Any]) -> tuple[Any, list[Problem]]:
    """Instantiate the configured estimator with `params`, or return the problems."""
    cls, problem = resolve(path)
    if cls is None:
        return None, [problem] if problem else []
    problems = param_problems(cls, params)
    return (None if problems else cls(**params)), problems


def _is_categorical(series: pd.Series) -> bool:
    return not pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series)


def categorical_columns(frame: pd.DataFrame) -> list[str]:
    """Columns that are one-hot encoded (strings, categories, booleans)."""
    return [str(c) for c in frame.columns if _is_categorical(frame[c])]


def pipeline(estimator: Any, features: pd.DataFrame) -> Pipeline:
    """Impute+scale numeric columns, impute+one-hot categorical ones, then the estimator."""
    categorical = categorical_columns(features)
    numeric = [str(c) for c in features.columns if str(c) not in categorical]
    transformers: list[tuple[str, Any, list[str]]] = []
    if numeric:
        transformers.append(("numeric", Pipeline([
            ("impute", SimpleImputer(strategy="median")), ("scale", StandardScaler())]), numeric))
    if categorical:
        transformers.append(("categorical", Pipeline([
            ("impute", SimpleImputer(strategy="most_frequent")),
            ("onehot", OneHotEncoder(handle_unknown="ignore"))]), categorical))
    prep = ColumnTransformer(transformers, remainder="drop", verbose_feature_names_out=False)
    return Pipeline([("preprocess", prep), ("model", estimator)])


def lacks_proba(estimator: Any) -> bool:
    """True when the estimator cannot give class probabilities."""
    return not hasattr(estimator, "predict_proba")


def check(project: Project, params: Mapping[str, Any]) -> None:
    """Raise ConfigError when the estimator, its params or the metrics' need for probabilities fail."""
    if project.config.train.mode != "estimator":
        return
    estimator, problems = make(project.config.train.estimator or "", params)
    needs_proba = [m for m in project.config.metric_names if m in {"roc_auc", "log_loss", "brier"}]
    if estimator is not None and needs_proba and lacks_proba(estimator):
        problems.append(Problem(CONFIG_FILE, "metrics", f"{', '.join(needs_proba)} need predicted "
                                f"probabilities, but {type(estimator).__name__} has no predict_proba"))
    if problems:
        raise ConfigError(problems,
                          hint="fix train.estimator / train.params / metrics (or the --param values)")
