"""Deliveries in Redis: one hash per delivery, created only if absent (dedupe across replicas).

Every state change is a Lua script, so it is atomic however many servers and workers run.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

import redis

from bot.adapters.queue.model import STATES, DeadLetter, Delivery, State, Status

_ACCEPT = """
if redis.call('exists', KEYS[1]) == 1 then return 0 end
redis.call('hset', KEYS[1], 'event', ARGV[2], 'body', ARGV[3], 'state', 'queued', 'attempts', 0,
           'lease', 0, 'due', ARGV[5], 'error', '', 'received', ARGV[4], 'updated', ARGV[4])
redis.call('zadd', KEYS[2], ARGV[5], ARGV[1])
redis.call('hincrby', KEYS[3], 'queued', 1)
return 1
"""

_CLAIM = """
local s = redis.call('hget', KEYS[1], 'state')
local expired = s == 'running' and tonumber(redis.call('hget', KEYS[1], 'lease')) < tonumber(ARGV[2])
if s ~= 'queued' and s ~= 'retrying' and not expired then
  return false
end
local a = redis.call('hincrby', KEYS[1], 'attempts', 1)
redis.call('hset', KEYS[1], 'state', 'running', 'lease', ARGV[3], 'due', ARGV[3], 'updated', ARGV[2],
           'holder', ARGV[4])
redis.call('zadd', KEYS[2], ARGV[3], ARGV[1])
if s ~= 'running' then
  redis.call('hincrby', KEYS[3], s, -1)
  redis.call('hincrby', KEYS[3], 'running', 1)
end
return {redis.call('hget', KEYS[1], 'event'), redis.call('hget', KEYS[1], 'body'),
        redis.call('hget', KEYS[1], 'received'), a, redis.call('hget', KEYS[1], 'retries') or '0',
        redis.call('hget', KEYS[1], 'retry_since') or '0'}
"""

_SETTLE = """
local held = redis.call('hget', KEYS[1], 'attempts') == ARGV[2]
if redis.call('hget', KEYS[1], 'state') ~= 'running' or not held then
  return 0
end
redis.call('hset', KEYS[1], 'state', ARGV[3], 'error', ARGV[4], 'updated', ARGV[5], 'due', ARGV[6],
           'lease', 0)
redis.call('hincrby', KEYS[3], 'running', -1)
redis.call('hincrby', KEYS[3], ARGV[3], 1)
if ARGV[3] == 'queued' or ARGV[3] == 'retrying' then
  redis.call('zadd', KEYS[2], ARGV[6], ARGV[1])
else
  redis.call('zrem', KEYS[2], ARGV[1])
end
if ARGV[3] == 'retrying' then
  redis.call('hincrby', KEYS[1], 'retries', 1)
  if tonumber(redis.call('hget', KEYS[1], 'retry_since') or '0') == 0 then
    redis.call('hset', KEYS[1], 'retry_since', ARGV[5])
  end
end
-- failed and dead keep their body so `mlbot worker --requeue` can run them again
if ARGV[3] == 'dead' or ARGV[3] == 'failed' then redis.call('zadd', KEYS[4], ARGV[5], ARGV[1]) end
if ARGV[3] == 'done' then
  redis.call('hdel', KEYS[1], 'body')
  redis.call('expire', KEYS[1], ARGV[7])
end
return 1
"""


_RENEW = """
if redis.call('hget', KEYS[1], 'state') == 'running' and redis.call('hget', KEYS[1], 'attempts') == ARGV[2] then
  redis.call('hset', KEYS[1], 'lease', ARGV[3], 'due', ARGV[3])
  redis.call('zadd', KEYS[2], ARGV[3], ARGV[1])
end
return 0
"""

_EXPIRE = """
if redis.call('hget', KEYS[1], 'state') ~= 'running' or redis.call('hget', KEYS[1], 'attempts') ~= ARGV[2] then
  return 0
end
redis.call('hset', KEYS[1], 'lease', 0, 'due', ARGV[3])
redis.call('zadd', KEYS[2], ARGV[3], ARGV[1])
return 1
"""

_REQUEUE = """
local s = redis.call('hget', KEYS[1], 'state')
if (s ~= 'failed' and s ~= 'dead' and s ~= 'retrying') or redis.call('hexists', KEYS[1], 'body') == 0 then
  return 0
end
redis.call('hset', KEYS[1], 'state', 'queued', 'retries', redis.call('hget', KEYS[1], 'attempts'),
           'retry_since', 0, 'due', ARGV[2], 'updated', ARGV[2])
redis.call('zadd', KEYS[2], ARGV[2], ARGV[1])
redis.call('zrem', KEYS[4], ARGV[1])
redis.call('hincrby', KEYS[3], s, -1)
redis.call('hincrby', KEYS[3], 'queued', 1)
return 1
"""


class RedisDeliveries:
    """`DeliveryStore` on Redis, every key under `prefix`."""

    def __init__(self, url: str, prefix: str = "mlbot", *, keep_finished: float = 30 * 86400) -> None:
        self.client = redis.Redis.from_url(url)
        self.keep_finished = keep_finished  # seconds a finished delivery's id still dedupes
        self.prefix = prefix
        self._accept = self.client.register_script(_ACCEPT)
        self._claim = self.client.register_script(_CLAIM)
        self._settle = self.client.register_script(_SETTLE)
        self._renew = self.client.register_script(_RENEW)
        self._requeue = self.client.register_script(_REQUEUE)
        self._expire = self.client.register_script(_EXPIRE)
        self._due_key, self._counts_key, self._dead_key = (f"{prefix}:due", f"{prefix}:counts",
                                                           f"{prefix}:dead")

    def _key(self, delivery_id: str) -> str:
        return f"{self.prefix}:delivery:{delivery_id}"

    def accept(self, deliveries: Sequence[Delivery], now: float, due: float) -> list[bool]:
        """Store new deliveries (one round trip); False for ids already stored."""
        pipe = self.client.pipeline(transaction=False)
        for d in deliveries:
            self._accept(keys=[self._key(d.id), self._due_key, self._counts_key],
                         args=[d.id, d.event, d.body, d.received_at or now, due], client=pipe)
        return [bool(r) for r in pipe.execute()]

    def claim(self, delivery_id: str, now: float, lease_until: float, holder: str = "") -> Delivery | None:
        """Mark the delivery running (by `holder`) unless it is done, dead or held by a live lease."""
        row = self._claim(keys=[self._key(delivery_id), self._due_key, self._counts_key],
                          args=[delivery_id, now, lease_until, holder])
        if not row:
            return None
        event, body, received, attempts, retries, since = cast(list[Any], row)
        return Delivery(delivery_id, event.decode(), bytes(body), float(received), int(attempts), int(retries),
                        float(since))

    def settle(self, delivery_id: str, attempt: int, state: State, error: str, now: float,
               due: float) -> bool:
        """Move a running delivery still held by `attempt` to `state`."""
        keys = [self._key(delivery_id), self._due_key, self._counts_key, self._dead_key]
        return bool(self._settle(keys=keys, args=[delivery_id, attempt, state, error, now, due,
                                                  int(self.keep_finished)]))

    def renew(self, held: Sequence[tuple[str, int]], lease_until: float) -> None:
        """Extend the leases of running deliveries still held by these (id, attempt) pairs."""
        pipe = self.client.pipeline(transaction=False)
        for delivery_id, attempt in held:
            self._renew(keys=[self._key(delivery_id), self._due_key], args=[delivery_id, attempt, lease_until],
                        client=pipe)
        pipe.execute()

    def due(self, now: float, limit: int) -> list[str]:
        """Ids of queued/running deliveries past their due time."""
        ids = cast(list[bytes], self.client.zrangebyscore(self._due_key, "-inf", now, start=0, num=limit))
        return [i.decode() for i in ids]

    def postpone(self, delivery_ids: Sequence[str], due: float) -> None:
        """Set the reaper's next look at these deliveries."""
        if delivery_ids:
            self.client.zadd(self._due_key, {i: due for i in delivery_ids}, xx=True)

    def state(self, delivery_id: str) -> tuple[State, int, str] | None:
        """The state, attempts and last error of one delivery."""
        state, attempts, error = cast(list[bytes | None], self.client.hmget(
            self._key(delivery_id), ["state", "attempts", "error"]))
        if state is None:
            return None
        return cast(State, state.decode()), int(attempts or 0), (error or b"").decode()

    def counts(self) -> dict[State, int]:
        """How many deliveries are in each state."""
        raw = cast(dict[bytes, bytes], self.client.hgetall(self._counts_key))
        found = {k.decode(): int(v) for k, v in raw.items()}
        return {s: found.get(s, 0) for s in STATES}

    def running(self, holder_prefix: str) -> list[tuple[str, int, str]]:
        """(id, attempt, holder) of the running deliveries whose holder starts with `holder_prefix`."""
        found = []
        for raw in cast(list[bytes], self.client.zrange(self._due_key, 0, -1)):
            state, attempts, holder = cast(list[bytes | None], self.client.hmget(
                self._key(raw.decode()), ["state", "attempts", "holder"]))
            text = (holder or b"").decode()
            if state == b"running" and text.startswith(holder_prefix):
                found.append((raw.decode(), int(attempts or 0), text))
        return found

    def expire(self, delivery_id: str, attempt: int, now: float) -> bool:
        """End the lease of a running delivery still held by `attempt` (its holder died): claimable now."""
        return bool(self._expire(keys=[self._key(delivery_id), self._due_key], args=[delivery_id, attempt, now]))

    def requeue(self, delivery_id: str, now: float) -> bool:
        """Put a failed, dead or retrying delivery back in the queue now, with fresh bounds; False otherwise."""
        keys = [self._key(delivery_id), self._due_key, self._counts_key, self._dead_key]
        return bool(self._requeue(keys=keys, args=[delivery_id, now]))

    def status(self, delivery_id: str) -> Status | None:
        """Where one delivery stands, or None when unknown."""
        state, attempts, error, due, retries, since = cast(list[bytes | None], self.client.hmget(
            self._key(delivery_id), ["state", "attempts", "error", "due", "retries", "retry_since"]))
        if state is None:
            return None
        return Status(cast(State, state.decode()), int(attempts or 0), (error or b"").decode(),
                      float(due or 0), int(retries or 0), float(since or 0))

    def listing(self, states: Sequence[State], limit: int) -> list[DeadLetter]:
        """Deliveries in these states, most recently changed first (failed/dead from their index)."""
        wanted = set(states)
        index = self._dead_key if wanted <= {"failed", "dead"} else self._due_key
        letters = []
        for raw in cast(list[bytes], self.client.zrevrange(index, 0, -1)):
            event, attempts, error, updated, state, due = cast(list[bytes | None], self.client.hmget(
                self._key(raw.decode()), ["event", "attempts", "error", "updated", "state", "due"]))
            if state is not None and state.decode() in wanted:
                letters.append(DeadLetter(raw.decode(), (event or b"").decode(), int(attempts or 0),
                                          (error or b"").decode(), float(updated or 0),
                                          cast(State, state.decode()), float(due or 0)))
        return sorted(letters, key=lambda d: -d.updated_at)[:limit]

    def close(self) -> None:
        """Release the connection pool."""
        self.client.close()
