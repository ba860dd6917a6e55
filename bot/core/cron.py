"""Five-field cron schedules (`minute hour day-of-month month day-of-week`): validation and matching."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

FIELDS = (("minute", 0, 59), ("hour", 0, 23), ("day of month", 1, 31), ("month", 1, 12),
          ("day of week", 0, 7))
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
_NAMES = {3: {m: i + 1 for i, m in enumerate(_MONTHS)}, 4: {d: i for i, d in enumerate(_DAYS)}}
_PART = re.compile(r"^(?:\*|(?P<lo>\w+)(?:-(?P<hi>\w+))?)(?:/(?P<step>\d+))?$")


def _number(text: str, index: int) -> int:
    value = _NAMES.get(index, {}).get(text.lower())
    if value is not None:
        return value
    if not text.isdigit():
        raise ValueError(f"{text!r} is not a number")
    return int(text)


def _field(text: str, index: int) -> frozenset[int]:
    name, low, high = FIELDS[index]
    values: set[int] = set()
    for part in text.split(","):
        found = _PART.match(part)
        if not found:
            raise ValueError(f"{name} {part!r} is not `*`, N, N-M, a list or a /step")
        lo = _number(found["lo"], index) if found["lo"] else low
        hi = _number(found["hi"], index) if found["hi"] else (lo if found["lo"] and not found["step"] else high)
        step = int(found["step"] or 1)
        if not (low <= lo <= high and low <= hi <= high) or lo > hi or step == 0:
            raise ValueError(f"{name} {part!r} is outside {low}-{high}")
        values.update(range(lo, hi + 1, step))
    if index == 4 and 7 in values:  # both 0 and 7 are Sunday
        values = (values - {7}) | {0}
    return frozenset(values)


@dataclass(frozen=True)
class Cron:
    """A parsed schedule."""

    text: str
    fields: tuple[frozenset[int], ...]

    def matches(self, moment: datetime) -> bool:
        """Whether the schedule fires in `moment`'s minute (day of month OR day of week when both are set)."""
        minute, hour, dom, month, dow = self.fields
        parts = self.text.split()
        weekday = (moment.weekday() + 1) % 7
        day_ok = ((moment.day in dom or weekday in dow) if parts[2] != "*" and parts[4] != "*"
                  else moment.day in dom and weekday in dow)
        return moment.minute in minute and moment.hour in hour and moment.month in month and day_ok


def last_due(cron: Cron, now: datetime, lookback: timedelta = timedelta(days=31)) -> datetime | None:
    """The latest minute at or before `now` (within `lookback`) when `cron` fires: the current window."""
    moment = now.replace(second=0, microsecond=0)
    earliest = moment - lookback
    minute, hour = cron.fields[0], cron.fields[1]
    while moment >= earliest:
        if moment.hour not in hour:  # skip whole hours that cannot fire
            moment = moment.replace(minute=0) - timedelta(minutes=1)
            continue
        if moment.minute in minute and cron.matches(moment):
            return moment
        moment -= timedelta(minutes=1)
    return None


def next_due(cron: Cron, now: datetime, lookahead: timedelta = timedelta(days=366)) -> datetime | None:
    """The first minute after `now` (within `lookahead`) when `cron` fires: when the next window starts."""
    moment = now.replace(second=0, microsecond=0) + timedelta(minutes=1)
    latest = moment + lookahead
    minute, hour = cron.fields[0], cron.fields[1]
    while moment <= latest:
        if moment.hour not in hour:  # skip whole hours that cannot fire
            moment = moment.replace(minute=0) + timedelta(hours=1)
            continue
        if moment.minute in minute and cron.matches(moment):
            return moment
        moment += timedelta(minutes=1)
    return None


def parse_cron(text: str) -> Cron:
    """Parse a five-field cron string; ValueError says which field is wrong."""
    parts = text.split()
    if len(parts) != 5:
        raise ValueError(f"a cron schedule has 5 fields (minute hour day month weekday), got {len(parts)}: "
                         f"{text!r}")
    return Cron(" ".join(parts), tuple(_field(p, i) for i, p in enumerate(parts)))
