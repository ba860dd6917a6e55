"""Signed webhook deliveries from a background thread, with a log tests can read."""

from __future__ import annotations

import hashlib
import hmac
import json
import queue
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import httpx

USER_AGENT = "GitHub-Hookshot/sandbox"


@dataclass
class WebhookDelivery:
    """One delivery: what was sent and how the receiver answered (status None = not sent)."""

    id: str
    event: str
    action: str | None
    payload: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)
    status: int | None = None
    response: str = ""
    error: str | None = None
    done: bool = False


def sign_headers(event: str, delivery_id: str, body: bytes, secret: str | None,
                 content_type: str = "application/json") -> dict[str, str]:
    """The headers GitHub sends with a delivery, signatures included when a secret is set."""
    headers = {"X-GitHub-Event": event, "X-GitHub-Delivery": delivery_id, "User-Agent": USER_AGENT,
               "Content-Type": content_type, "X-GitHub-Hook-ID": "1",
               "X-GitHub-Hook-Installation-Target-Type": "repository"}
    if secret:
        key = secret.encode()
        headers["X-Hub-Signature-256"] = "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest()
        headers["X-Hub-Signature"] = "sha1=" + hmac.new(key, body, hashlib.sha1).hexdigest()
    return headers


class WebhookSender:
    """Queue deliveries and post them in order from one thread, so API calls return first."""

    def __init__(self, url: str | None, secret: str | None, timeout: float = 30.0) -> None:
        self.url = url
        self.secret = secret
        self.form = False  # GitHub's "application/x-www-form-urlencoded" hooks: payload=<json>
        self.timeout = timeout
        self._queue: queue.Queue[WebhookDelivery | None] = queue.Queue()
        self._log: list[WebhookDelivery] = []
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def send(self, event: str, payload: dict[str, Any]) -> WebhookDelivery:
        """Record and queue one delivery; return at once."""
        action = payload.get("action")
        delivery = WebhookDelivery(str(uuid.uuid4()), event, action if isinstance(action, str) else None,
                                   payload)
        with self._lock:
            self._log.append(delivery)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="sandbox-webhooks", daemon=True)
                self._thread.start()
        self._queue.put(delivery)
        return delivery

    def deliveries(self, event: str | None = None) -> list[WebhookDelivery]:
        """The delivery log, oldest first, optionally only one event type."""
        with self._lock:
            return [d for d in self._log if event is None or d.event == event]

    def wait_idle(self, timeout: float = 30.0) -> None:
        """Block until every queued delivery was attempted, or raise TimeoutError."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                pending = [d for d in self._log if not d.done]
            if not pending:
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"{len(pending)} webhook deliveries still pending")
            time.sleep(0.01)

    def redeliver(self, delivery_id: str) -> WebhookDelivery:
        """Send a logged delivery again with the same id, as GitHub's "Redeliver" does."""
        with self._lock:
            original = next(d for d in self._log if d.id == delivery_id)
            again = WebhookDelivery(original.id, original.event, original.action, original.payload)
            self._log.append(again)
        self._queue.put(again)
        return again

    def close(self) -> None:
        """Stop the delivery thread after the queue drains."""
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout=self.timeout + 5)
            self._thread = None

    def _run(self) -> None:
        with httpx.Client(timeout=self.timeout) as client:
            while True:
                delivery = self._queue.get()
                if delivery is None:
                    return
                try:
                    self._post(client, delivery)
                finally:
                    delivery.done = True

    def _post(self, client: httpx.Client, delivery: WebhookDelivery) -> None:
        body = json.dumps(delivery.payload, separators=(",", ":")).encode()
        content_type = "application/json"
        if self.form:
            body, content_type = urlencode({"payload": body}).encode(), "application/x-www-form-urlencoded"
        delivery.headers = sign_headers(delivery.event, delivery.id, body, self.secret, content_type)
        if not self.url:
            return
        try:
            answer = client.post(self.url, content=body, headers=delivery.headers)
            delivery.status = answer.status_code
            delivery.response = answer.text[:2000]
        except httpx.HTTPError as error:
            delivery.error = f"{type(error).__name__}: {error}"
