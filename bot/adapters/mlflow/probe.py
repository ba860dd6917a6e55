"""The run-cache lookup without importing mlflow (≈1.4 s): a cache hit should cost a fraction of a run.

For `sqlite:` stores it reads MLflow's tables read-only; for `http(s):` servers it calls the
documented REST API (https://mlflow.org/docs/latest/api_reference/rest-api.html). Anything
unexpected returns None, and the caller falls back to the full client (`runs.RunStore`).
"""

from __future__ import annotations

import json
import sqlite3
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.adapters.mlflow import HEALTH_TIMEOUT_S, is_http


@dataclass(frozen=True)
class CacheProbe:
    """What the store says: the production version (None: no model there), and a reusable run."""

    baseline_version: str | None
    run_id: str | None
    shas: frozenset[str] = frozenset()  # the commits the run stands for: `mlbot.sha` and `mlbot.shas`


def _commits(tags: dict[str, str | None]) -> frozenset[str]:
    """The commits a run's tags name: the one it was trained on and the ones a cache hit reused it for."""
    listed = (tags.get("mlbot.shas") or "").split(",")
    return frozenset(sha for sha in (tags.get("mlbot.sha"), *listed) if sha)


_RUN_SQL = """
SELECT r.run_uuid FROM runs r
  JOIN experiments e ON e.experiment_id = r.experiment_id
  JOIN tags k ON k.run_uuid = r.run_uuid AND k.key = 'mlbot.cache_key' AND k.value = ?
  JOIN tags s ON s.run_uuid = r.run_uuid AND s.key = 'mlbot.status' AND s.value = 'finished'
  LEFT JOIN tags b ON b.run_uuid = r.run_uuid AND b.key = 'mlbot.baseline_version'
 WHERE e.name = ? AND e.lifecycle_stage = 'active' AND r.lifecycle_stage = 'active'
   AND COALESCE(b.value, '') = ?
 ORDER BY r.start_time DESC LIMIT 1
"""
_SHAS_SQL = "SELECT key, value FROM tags WHERE run_uuid = ? AND key IN ('mlbot.sha', 'mlbot.shas')"
_ALIAS_SQL = "SELECT version FROM registered_model_aliases WHERE name = ? AND alias = ?"


def _sqlite_path(tracking_uri: str) -> Path | None:
    if not tracking_uri.startswith("sqlite:///"):
        return None
    return Path(urllib.parse.unquote(tracking_uri.removeprefix("sqlite:///").split("?")[0]))


def _probe_sqlite(path: Path, experiment: str, key: str, model: str, alias: str) -> CacheProbe | None:
    if not path.is_file():
        return None
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=2.0) as db:
        row = db.execute(_ALIAS_SQL, (model, alias)).fetchone()
        baseline = str(row[0]) if row else None
        hit = db.execute(_RUN_SQL, (key, experiment, baseline or "")).fetchone()
        if hit is None:
            return CacheProbe(baseline, None)
        tags = {str(k): v for k, v in db.execute(_SHAS_SQL, (hit[0],)).fetchall()}
    return CacheProbe(baseline, str(hit[0]), _commits(tags))


def _call(base: str, method: str, path: str, query: dict[str, str] | None = None,
          body: dict[str, Any] | None = None) -> tuple[int, dict[str, Any]]:
    url = f"{base.rstrip('/')}/api/2.0/mlflow/{path}"
    if query:
        url += "?" + urllib.parse.urlencode(query)
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=HEALTH_TIMEOUT_S) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, {}


def _probe_http(base: str, experiment: str, key: str, model: str, alias: str) -> CacheProbe | None:
    status, found = _call(base, "GET", "registered-models/alias", {"name": model, "alias": alias})
    if status not in (200, 404):
        return None
    baseline = str(found["model_version"]["version"]) if status == 200 else None
    status, exp = _call(base, "GET", "experiments/get-by-name", {"experiment_name": experiment})
    if status == 404:
        return CacheProbe(baseline, None)
    if status != 200:
        return None
    query = f"tags.`mlbot.cache_key` = '{key}' AND tags.`mlbot.status` = 'finished'"
    if baseline is not None:
        query += f" AND tags.`mlbot.baseline_version` = '{baseline}'"
    status, result = _call(base, "POST", "runs/search", body={
        "experiment_ids": [exp["experiment"]["experiment_id"]], "filter": query, "max_results": 1,
        "order_by": ["attributes.start_time DESC"]})
    if status != 200:
        return None
    runs = result.get("runs", [])
    tags = {t["key"]: t.get("value") for t in (runs[0]["data"].get("tags", []) if runs else [])}
    if not runs or tags.get("mlbot.baseline_version") != baseline:
        return CacheProbe(baseline, None)
    return CacheProbe(baseline, str(runs[0]["info"]["run_id"]), _commits(tags))


def probe(tracking_uri: str, experiment: str, cache_key: str, model: str, alias: str) -> CacheProbe | None:
    """Look up the production version and a cached run cheaply; None when only the full client can tell."""
    try:
        if is_http(tracking_uri):
            return _probe_http(tracking_uri, experiment, cache_key, model, alias)
        path = _sqlite_path(tracking_uri)
        return _probe_sqlite(path, experiment, cache_key, model, alias) if path else None
    except (sqlite3.Error, OSError, ValueError, KeyError, TypeError):
        return None
