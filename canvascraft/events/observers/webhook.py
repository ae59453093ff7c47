"""The webhook channel: the alert as a JSON POST, or Slack's ``{"text", "blocks"}`` body.

Any 2xx answer counts as delivered; anything else (an error status, a refused connection, a timeout)
raises ``DeliveryError`` and the outbox retries with backoff (or later, when a 429 or 503 answer's
``Retry-After`` asks for longer). The HTTP client comes from outside
(an ``httpx.Client`` or one made here), so tests and other transports can be swapped in. A target is
an http:// or https:// URL, checked when the settings are saved (``WebhookChannel.check_target``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import httpx

from canvascraft.errors import AlertError, DeliveryError
from canvascraft.events.channels import MAX_TARGET_LENGTH, AlertChannel, register_channel
from canvascraft.events.message import AlertMessage

TIMEOUT_S = 3.0
ERROR_BODY_CHARS = 200
USER_AGENT = "CanvasCraft-Studio-Alerts/1"
MAX_URL_LENGTH = MAX_TARGET_LENGTH  # alert_settings.webhook_url is as wide as a delivery's target


def plain_body(message: AlertMessage) -> dict[str, Any]:
    """The studio's own JSON alert: what happened, to which model, where to look, and the full event."""
    return {
        "alert_id": message.alert_id,
        "event": message.event,
        "title": message.title,
        "body": message.body,
        "model": message.model_label,
        "link": message.link,
        "correlation_id": message.correlation_id,
        "at": message.at.isoformat(),
        "payload": message.payload,
    }


def slack_body(message: AlertMessage) -> dict[str, Any]:
    """A Slack incoming-webhook body (also read by Mattermost and Rocket.Chat): ``text`` is the
    notification fallback, ``blocks`` the formatted message with a link button."""
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": message.title[:150]}},
        {"type": "section", "text": {"type": "mrkdwn", "text": message.body[:3000] or message.title}},
        {
            "type": "context",
            "elements": [
                {
                    "type": "mrkdwn",
                    "text": f"model *{message.model_label}* · {message.event} · "
                    f"{message.at.isoformat(timespec='seconds')} · id `{message.correlation_id}`",
                }
            ],
        },
    ]
    if message.link:
        blocks.append(
            {
                "type": "actions",
                "elements": [
                    {"type": "button", "text": {"type": "plain_text", "text": "Open in the studio"},
                     "url": message.link}
                ],
            }
        )  # fmt: skip
    text = f"{message.title}: {message.link}" if message.link else message.title
    return {"text": text, "blocks": blocks}


@register_channel
class WebhookChannel(AlertChannel):
    """POSTs alerts; ``client`` is used as given (its timeout applies) or one is made per send."""

    name = "webhook"
    summary = "POST each alert as JSON (or Slack's format) to an http(s) URL."
    target_label = "webhook URL"

    def __init__(self, client: httpx.Client | None = None, timeout_s: float = TIMEOUT_S) -> None:
        self.client = client
        self.timeout_s = timeout_s

    @classmethod
    def check_target(cls, target: str) -> str:
        """A full http(s) address, stripped; anything else is refused with what to paste instead."""
        value = (target or "").strip()
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc or not parts.hostname:
            raise AlertError(
                f"webhook URL: {value!r} is not an http:// or https:// address; "
                "paste the full URL, e.g. https://hooks.slack.com/services/…"
            )
        if len(value) > MAX_URL_LENGTH:
            raise AlertError(f"webhook URL: longer than {MAX_URL_LENGTH} characters; use a shorter address")
        return value

    def send(self, target: str, message: AlertMessage) -> None:
        body = slack_body(message) if message.slack_format else plain_body(message)
        headers = {"User-Agent": USER_AGENT, "X-CanvasCraft-Correlation-Id": message.correlation_id}
        try:
            if self.client is not None:
                response = self.client.post(target, json=body, headers=headers)
            else:
                with httpx.Client(timeout=self.timeout_s) as client:
                    response = client.post(target, json=body, headers=headers)
        except httpx.TimeoutException:
            raise DeliveryError(f"no answer from {target} within {self.timeout_s:g} s") from None
        except httpx.HTTPError as error:
            raise DeliveryError(f"could not reach {target}: {error or type(error).__name__}") from None
        if not response.is_success:
            detail = response.text.strip()[:ERROR_BODY_CHARS]
            wait = retry_after_s(response) if response.status_code in (429, 503) else None
            asked = f" (asked to wait {wait:g} s)" if wait is not None else ""
            raise DeliveryError(
                f"HTTP {response.status_code} from {target}{asked}" + (f": {detail}" if detail else ""),
                retry_after_s=wait,
            )


def retry_after_s(response: httpx.Response) -> float | None:
    """The wait a 429 or 503 answer asks for: ``Retry-After`` in seconds or as an HTTP date."""
    value = (response.headers.get("Retry-After") or "").strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None  # a header we cannot read: the usual backoff applies
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - datetime.now(UTC)).total_seconds(), 0.0)
