"""The watch gates' rules in policy files: `watch:` limits and `metric` + `vs_reference:` (docs/watch.md)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class VsReference(_Strict):
    """A watch gate: the metric on a labelled window against production's evaluation at promotion."""

    max_drop: float = Field(ge=0)
    confidence: float = Field(default=0.95, gt=0.5, lt=1)


class WatchRule(_Strict):
    """A watch gate on a production window; every limit given must hold."""

    max_drift_share: float | None = Field(default=None, ge=0, le=1)
    max_psi: float | None = Field(default=None, gt=0)
    max_missing_increase: float | None = Field(default=None, ge=0, le=1)
    max_out_of_range: float | None = Field(default=None, ge=0, le=1)
    max_unseen: float | None = Field(default=None, ge=0, le=1)
    schema_: Literal["unchanged"] | None = Field(default=None, alias="schema")
    prediction: Literal["stable"] | None = None

    @model_validator(mode="after")
    def _some_limit(self) -> WatchRule:
        if all(getattr(self, name) is None for name in type(self).model_fields):
            raise ValueError("give at least one of max_drift_share, max_psi, max_missing_increase, "
                             "max_out_of_range, max_unseen, schema: unchanged, prediction: stable")
        return self
