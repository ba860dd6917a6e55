"""The code-free model format between fit and evaluate: skops, loaded against an explicit allow-list.

A pickle (joblib, cloudpickle) runs whatever code its author put in it the moment it is loaded, so
the trusted side never unpickles what fit produced. skops stores a model as a JSON schema plus
numpy arrays; `skops.io.get_untrusted_types` lists the types a file would construct without
constructing anything, and `skops.io.load(trusted=...)` refuses any type not trusted. mlbot trusts
skops's own defaults (scikit-learn's public estimators, numpy, scipy containers) plus the internal
scikit-learn helper types below, which fitted estimators hold (trees, losses, kernels, ...).

Users' training scripts call `save(model, os.environ["MLBOT_MODEL_PATH"])` (or `skops.io.dump`).
"""

from __future__ import annotations

import importlib
import inspect
import zipfile
from functools import lru_cache
from pathlib import Path
from typing import Any

from bot.core.errors import MlbotError

MODEL_FILE = "model.skops"
# Refused before anything is decompressed: a crafted archive must not exhaust the judge's memory.
MAX_UNPACKED_BYTES = 4_000_000_000
SAVE_HINT = ("save it with `from bot.training.safe_model import save; save(model, "
             "os.environ['MLBOT_MODEL_PATH'])` (or `skops.io.dump(model, path)`)")

# Internal scikit-learn types a fitted estimator holds, beyond the public estimators skops trusts.
# Each is plain data restored through __setstate__: constructing one runs no user code.
ALLOWED_TYPES = frozenset({
    "numpy.dtype",
    "sklearn.tree._tree.Tree",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    "sklearn.ensemble._hist_gradient_boosting.binning._BinMapper",
    "sklearn.neighbors._kd_tree.KDTree",
    "sklearn.neighbors._ball_tree.BallTree",
    "sklearn.neural_network._stochastic_optimizers.AdamOptimizer",
    "sklearn.neural_network._stochastic_optimizers.SGDOptimizer",
    "sklearn.calibration._CalibratedClassifier",
    "sklearn.calibration._SigmoidCalibration",
    "sklearn.gaussian_process._gpc._BinaryGaussianProcessClassifierLaplace",
})
# Modules whose own classes are all allowed: loss/link functions, GP kernels, distance metrics.
ALLOWED_MODULES = ("sklearn._loss.loss", "sklearn._loss.link", "sklearn.gaussian_process.kernels",
                   "sklearn.metrics._dist_metrics")


class UnsafeModel(MlbotError):
    """A model file mlbot will not load: not the safe format, or holding a type outside the allow-list."""


@lru_cache(maxsize=1)
def allowed_types() -> frozenset[str]:
    """Every type name mlbot trusts beyond skops's defaults."""
    names = set(ALLOWED_TYPES)
    for module_name in ALLOWED_MODULES:
        try:
            module = importlib.import_module(module_name)
        except ImportError:  # an older or newer scikit-learn without this module
            continue
        names.update(f"{module_name}.{name}" for name, cls in inspect.getmembers(module, inspect.isclass)
                     if cls.__module__ == module_name)
    return frozenset(names)


def save(model: Any, path: str | Path) -> Path:
    """Write `model` in the safe format, refusing now what the trusted side would refuse later."""
    import skops.io

    target = Path(path)
    try:
        # deflate: a 200-tree forest drops from 4.1 to 0.46 MB and loads faster (benchmarks/model_format.py)
        skops.io.dump(model, target, compression=zipfile.ZIP_DEFLATED)
    except Exception as error:  # skops raises TypeError etc. for objects it cannot represent
        raise UnsafeModel(f"cannot save a {type(model).__name__} in the skops format "
                          f"({type(error).__name__}: {error})",
                          hint="use scikit-learn estimators and pipelines; custom classes and "
                               "lambdas cannot be stored without code") from error
    untrusted = refused_types(target)
    if untrusted:
        raise UnsafeModel(_refusal(untrusted, str(target)), hint=_refusal_hint())
    return target


def refused_types(path: Path) -> list[str]:
    """The types in the file that neither skops nor mlbot trusts (nothing is constructed)."""
    import skops.io

    allowed = allowed_types()
    return sorted(name for name in skops.io.get_untrusted_types(file=path) if name not in allowed)


def _refusal(untrusted: list[str], where: str) -> str:
    listed = ", ".join(untrusted[:5]) + (f" and {len(untrusted) - 5} more" if len(untrusted) > 5 else "")
    return f"the model in {where} holds types outside mlbot's allow-list: {listed}; it was not loaded"


def _refusal_hint() -> str:
    return ("build the model from scikit-learn estimators, transformers and pipelines only "
            "(no custom classes or functions), then " + SAVE_HINT.removeprefix("save it with "))


def _not_skops(path: Path) -> UnsafeModel:
    head = path.read_bytes()[:2]
    looks_pickled = head[:1] == b"\x80" or head == b"x\x9c"  # pickle protocol 2+, joblib's zlib
    kind = "a pickle/joblib file, which runs code when loaded" if looks_pickled else "not a skops file"
    return UnsafeModel(f"the model in {path} is {kind}; mlbot did not load it",
                       hint=f"mlbot only loads models in the skops format: {SAVE_HINT}")


def load(path: str | Path) -> Any:
    """Load a model written by `save`, constructing only allow-listed types; raise UnsafeModel otherwise."""
    import skops.io

    source = Path(path)
    if not source.is_file():
        raise UnsafeModel(f"no model file at {source}", hint=f"the fit stage must write {MODEL_FILE}")
    if not zipfile.is_zipfile(source):
        raise _not_skops(source)
    with zipfile.ZipFile(source) as archive:  # zipfile never inflates a member past its declared size
        unpacked = sum(member.file_size for member in archive.infolist())
    if unpacked > MAX_UNPACKED_BYTES:
        raise UnsafeModel(f"the model in {source} unpacks to {unpacked / 1e9:.1f} GB, more than mlbot loads "
                          f"({MAX_UNPACKED_BYTES / 1e9:.0f} GB); it was not loaded",
                          hint="fit a smaller model (fewer or shallower trees)")
    try:
        untrusted = skops.io.get_untrusted_types(file=source)
    except Exception as error:  # a damaged or hand-made archive: refuse, never guess
        raise UnsafeModel(f"the model in {source} is not a readable skops file ({type(error).__name__})",
                          hint=SAVE_HINT) from None
    refused = sorted(name for name in untrusted if name not in allowed_types())
    if refused:
        raise UnsafeModel(_refusal(refused, str(source)), hint=_refusal_hint())
    try:
        model = skops.io.load(source, trusted=untrusted)
    except Exception as error:
        raise UnsafeModel(f"the model in {source} could not be loaded ({type(error).__name__}: {error})",
                          hint=SAVE_HINT) from None
    if not hasattr(model, "predict"):
        raise UnsafeModel(f"the model in {source} is a {type(model).__name__}, which has no predict()",
                          hint="save the fitted estimator or pipeline itself")
    return model


def trusted_types(path: str | Path) -> list[str]:
    """The non-default types of a file already accepted by `load` (for MLflow's skops flavour)."""
    import skops.io

    return sorted(skops.io.get_untrusted_types(file=Path(path)))
