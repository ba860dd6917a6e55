"""DeLong's paired test for ROC-AUC in O(n log n) (the fast algorithm of Sun & Xu, 2014).

Both models scored the same rows, so the two AUCs are correlated; DeLong estimates the variance
of their difference from per-row "placement" values, which three midrank passes give:
for a positive row, V10 = share of negatives scored below it (ties count one half); for a
negative row, V01 = share of positives scored above it. AUC is the mean of either.

Multiclass (macro one-vs-rest) uses the same placements per class and sums each row's
contribution to the macro difference (its influence), so the correlation between the class
problems, which share rows, is kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from statistics import NormalDist

import numpy as np
from numpy.typing import NDArray

from bot.core.judge.metrics import midranks

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class PairedAuc:
    """Candidate and production AUC, their difference and its standard error."""

    candidate: float
    production: float
    se: float

    @property
    def delta(self) -> float:
        return self.candidate - self.production

    def ci(self, confidence: float) -> tuple[float, float]:
        """The normal interval of the difference at `confidence`."""
        z = NormalDist().inv_cdf(0.5 + confidence / 2.0)
        return self.delta - z * self.se, self.delta + z * self.se


def placements(positive: NDArray[np.bool_], scores: FloatArray) -> tuple[float, FloatArray]:
    """AUC and each row's placement (V10 for positives, V01 for negatives), by Sun & Xu's midranks."""
    m = int(positive.sum())
    n = len(positive) - m
    if m == 0 or n == 0:
        raise ValueError("roc_auc is undefined: the eval rows hold only one class")
    ranks_all = midranks(scores)
    out = np.empty(len(scores), dtype=np.float64)
    out[positive] = (ranks_all[positive] - midranks(scores[positive])) / n
    out[~positive] = 1.0 - (ranks_all[~positive] - midranks(scores[~positive])) / m
    return float(out[positive].mean()), out


def _influence(positive: NDArray[np.bool_], cand: FloatArray, prod: FloatArray) -> tuple[float, float, FloatArray]:
    """Both AUCs and each row's contribution to (candidate − production) − its expectation."""
    auc_c, v_c = placements(positive, cand)
    auc_p, v_p = placements(positive, prod)
    m = int(positive.sum())
    n = len(positive) - m
    centred = (v_c - v_p) - (auc_c - auc_p)
    return auc_c, auc_p, np.where(positive, centred / m, centred / n)


def paired_auc(y: NDArray[np.int64], cand: FloatArray, prod: FloatArray) -> PairedAuc:
    """DeLong's paired comparison of ROC-AUC; `cand`/`prod` are (rows × classes) probabilities.

    Two classes: the last is positive, and the variance is DeLong's (group variances with n − 1).
    More classes: the macro one-vs-rest AUC, variance from the summed per-row influences.
    """
    k = cand.shape[1]
    if k == 2:
        positive = y == 1
        auc_c, auc_p, psi = _influence(positive, cand[:, 1], prod[:, 1])
        m, n = int(positive.sum()), int((~positive).sum())
        var = sum(float(np.sum(psi[group] ** 2)) * size / max(size - 1, 1)
                  for group, size in ((positive, m), (~positive, n)))
        return PairedAuc(auc_c, auc_p, float(np.sqrt(var)))
    parts = [_influence(y == j, cand[:, j], prod[:, j]) for j in range(k)]
    psi = np.mean([p[2] for p in parts], axis=0)
    rows = len(y)
    var = float(np.sum(psi**2)) * rows / max(rows - 1, 1)
    return PairedAuc(float(np.mean([p[0] for p in parts])), float(np.mean([p[1] for p in parts])),
                     float(np.sqrt(var)))
