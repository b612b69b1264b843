"""The gen-1 stream authentication token (``shared/protocols/cryptowatch.md`` §3)."""

from __future__ import annotations

import base64
import hashlib
import hmac


def token(api_key: str, secret_b64: str, nonce: str) -> str:
    """base64(HMAC-SHA512(base64decode(secret), "stream_access;access_key_id=K;nonce=N;"))."""
    key = base64.b64decode(secret_b64, validate=True)
    payload = f"stream_access;access_key_id={api_key};nonce={nonce};".encode()
    return base64.b64encode(hmac.new(key, payload, hashlib.sha512).digest()).decode()
