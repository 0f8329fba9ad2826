"""Per-process HMAC signing: CSRF tokens of the job forms and the flash-message cookie.

The key is made when the app is built, so tokens die with the process (a form from before
a restart asks for a reload). Several server processes behind one address need one shared
key: pass it to ``create_app(..., secret=...)``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets

FLASH_COOKIE = "shipyard_flash"


class FormSigner:
    def __init__(self, key: bytes | None = None):
        self._key = key or secrets.token_bytes(32)

    def _mac(self, purpose: str, value: str) -> str:
        return hmac.new(self._key, f"{purpose}:{value}".encode(), hashlib.sha256).hexdigest()

    def csrf_token(self, job_id: int) -> str:
        """The token every form acting on this job carries."""
        return self._mac("csrf-job", str(job_id))

    def csrf_ok(self, job_id: int, token: str | None) -> bool:
        return bool(token) and hmac.compare_digest(self.csrf_token(job_id), str(token))

    def flash_value(self, kind: str, text: str) -> str:
        """Cookie value carrying a message to the next page; signed so nobody plants one via a link."""
        payload = base64.urlsafe_b64encode(json.dumps({"kind": kind, "text": text}).encode()).decode()
        return f"{payload}.{self._mac('flash', payload)}"

    def read_flash(self, value: str | None) -> dict | None:
        if not value or "." not in value:
            return None
        payload, mac = value.rsplit(".", 1)
        if not hmac.compare_digest(self._mac("flash", payload), mac):
            return None
        try:
            data = json.loads(base64.urlsafe_b64decode(payload.encode()))
        except ValueError:
            return None
        if not isinstance(data, dict) or data.get("kind") not in ("ok", "error"):
            return None
        return {"kind": data["kind"], "text": str(data.get("text", ""))}
