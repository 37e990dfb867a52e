"""Error answers of the emulated exchange: an HTTP status and the exact JSON body.

Bitstamp answers errors in three shapes, and the emulator reproduces each one:

* auth layer: ``{"status": "error", "reason": "Invalid nonce", "code": "API0004"}``, HTTP 403;
* ``response_code`` family with a plain reason:
  ``{"status": "error", "reason": "Order not found.", "response_code": "404.002"}``;
* ``response_code`` family with form-style reasons, as the order endpoints send them:
  ``{"status": "error", "reason": {"__all__": ["..."]}, "response_code": "400.009"}``, or
  for one field ``"reason": {"amount": ["..."], "__all__": [""]}`` with ``"400.026"``.

The HTTP status of a ``response_code`` error is its prefix (``404.002`` -> 404): the official
tables pair 400.xxx codes with HTTP 400, and nothing published contradicts the rest.
"""

from __future__ import annotations

from typing import Final

__all__ = ["AUTH_REASONS", "ApiError"]

# Reason texts exactly as the official "Possible authentication errors" table words them.
AUTH_REASONS: Final[dict[str, str]] = {
    "API0001": "API key not found",
    "API0002": "IP address not allowed",
    "API0003": "No permission found",
    "API0004": "Invalid nonce",
    "API0005": "Invalid signature",
    "API0006": "Your account is frozen",
    "API0008": "Authentication failed",
    "API0010": "Invalid version",
    "API0011": "Wrong API key format",
    "API0012": "X-Auth header is required",
    "API0013": "X-Auth-Signature header is required",
    "API0014": "X-Auth-Nonce header is required",
    "API0015": "X-Auth-Timestamp header is required",
    "API0016": "X-Auth-Version header is required",
    "API0017": "X-Auth-Timestamp header is out of boundaries",
    "API0018": "X-Auth-Timestamp header is invalid",
    "API0019": "Content-Type header is not accepted",
    "API0020": "Content-Type header should not be present",
    "API0021": "Please make sure url query string is not too long",
}

Reason = str | dict[str, list[str]]


class ApiError(Exception):
    """An error answer, raised anywhere below the dispatcher and sent as is."""

    def __init__(self, status: int, body: dict[str, object]) -> None:
        super().__init__(f"HTTP {status}: {body}")
        self.status = status
        self.body = body

    @classmethod
    def auth(cls, code: str) -> ApiError:
        """An auth-layer rejection (always HTTP 403, keyed ``code``)."""
        return cls(403, {"status": "error", "reason": AUTH_REASONS[code], "code": code})

    @classmethod
    def coded(cls, response_code: str, reason: Reason) -> ApiError:
        """A ``response_code`` error; the HTTP status is the code's prefix."""
        status = int(response_code.partition(".")[0])
        return cls(status, {"status": "error", "reason": reason, "response_code": response_code})

    @classmethod
    def general(cls, response_code: str, message: str) -> ApiError:
        """A form-level error: ``reason == {"__all__": [message]}``."""
        return cls.coded(response_code, {"__all__": [message]})

    @classmethod
    def field(cls, response_code: str, name: str, message: str) -> ApiError:
        """A field error as Bitstamp's forms send it, with the empty ``__all__`` entry."""
        return cls.coded(response_code, {name: [message], "__all__": [""]})

    @classmethod
    def query(cls, name: str, message: str) -> ApiError:
        """A rejected query parameter of a public endpoint (schema-style reason)."""
        return cls.coded("400.001", {name: [message]})
