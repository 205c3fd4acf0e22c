"""The channels reminders are delivered by (application.reminder.Channel): e-mail over SMTP and a signed webhook.

E-mail: one message per notice and recipient, from VALMIUS_SMTP_FROM through VALMIUS_SMTP_URL
(`smtp://host:port`, or `smtps://` for TLS from the start; `user:password@` if the relay wants a login), with a
stable Message-ID so that a resend after a crash can be recognised. Its text is the notice's structure (kind, ids,
unit, due time, a link), never a record's text.

Webhook: the notice as JSON, POSTed, with `Valmius-Delivery` (the same id as the e-mail's Message-ID, stable
across resends), `Valmius-Timestamp` (Unix seconds) and `Valmius-Signature: sha256=<hex>`, the HMAC-SHA256 with
VALMIUS_WEBHOOK_SECRET over `<timestamp>.<body>`. A receiver checks the signature and the timestamp's age, and
drops a delivery id it has seen.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import smtplib
import time
import urllib.error
import urllib.request
from email.message import EmailMessage
from urllib.parse import unquote, urlsplit

from application.reminder import DeliveryFailed, Message

TIMEOUT_SECONDS = 10.0


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """`sha256=` and the HMAC-SHA256 of `<timestamp>.<body>` with the shared secret."""
    return "sha256=" + hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


class SmtpChannel:
    name = "email"

    def __init__(self, url: str, sender: str, timeout: float = TIMEOUT_SECONDS) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError("an SMTP URL like smtp://host:25 (or smtps://host:465)")
        self.tls = parts.scheme == "smtps"
        self.host, self.port = parts.hostname, parts.port or (465 if self.tls else 25)
        self.user = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password) if parts.password else None
        self.sender, self.timeout = sender, timeout

    def send(self, address: str, message: Message) -> None:
        mail = EmailMessage()
        mail["From"], mail["To"], mail["Subject"] = self.sender, address, message.subject
        mail["Message-ID"] = message.message_id
        mail.set_content(
            "\n".join(f"{key}: {value}" for key, value in message.body.items() if value is not None)
            + "\n\nAcknowledge it at the link above (POST …/acknowledgement). This message carries no record's text.\n"
        )
        try:
            smtp_class = smtplib.SMTP_SSL if self.tls else smtplib.SMTP
            with smtp_class(self.host, self.port, timeout=self.timeout) as smtp:
                if self.user:
                    smtp.login(self.user, self.password or "")
                smtp.send_message(mail)
        except smtplib.SMTPResponseException as refused:
            raise DeliveryFailed(f"SMTP {refused.smtp_code}") from None
        except smtplib.SMTPRecipientsRefused:
            raise DeliveryFailed("SMTP recipient refused") from None
        except smtplib.SMTPException as failed:
            raise DeliveryFailed(f"SMTP {type(failed).__name__}") from None


class WebhookChannel:
    name = "webhook"

    def __init__(self, secret: str, timeout: float = TIMEOUT_SECONDS, clock=time.time) -> None:  # noqa: ANN001
        if not secret:
            raise ValueError("a webhook needs VALMIUS_WEBHOOK_SECRET")
        self.secret, self.timeout, self.clock = secret, timeout, clock

    def send(self, address: str, message: Message) -> None:
        body = json.dumps(message.body, sort_keys=True, separators=(",", ":")).encode()
        timestamp = str(int(self.clock()))
        request = urllib.request.Request(address, data=body, method="POST", headers={
            "Content-Type": "application/json",
            "Valmius-Delivery": message.message_id,
            "Valmius-Timestamp": timestamp,
            "Valmius-Signature": signature(self.secret, timestamp, body),
        })
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as answer:  # noqa: S310 - the contacts file names it
                if not 200 <= answer.status < 300:
                    raise DeliveryFailed(f"HTTP {answer.status}")
        except urllib.error.HTTPError as refused:
            raise DeliveryFailed(f"HTTP {refused.code}") from None
        except urllib.error.URLError as failed:
            raise DeliveryFailed(f"unreachable: {type(failed.reason).__name__}") from None
