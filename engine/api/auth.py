"""Who is calling the API, and whether they may.

Credentials are needed when --api-key is set or logins are on (--auth / --auth-file / the generated --share
login). Accepted: `Authorization: Bearer <api key>`, `Authorization: Basic base64(user:password)` with a login,
and `Authorization: Bearer user:password` (so the `openai` client, which only sends a bearer key, can use a
login as its api_key). Without --api-key and without logins (loopback only) everyone is let in, whatever key
the client sends ("EMPTY", "sk-no-key"...).
"""

from __future__ import annotations

import base64
import binascii
import hmac
from dataclasses import dataclass

from engine.access import AccessPlan
from engine.api.errors import ApiError, missing_credentials
from engine.ratelimit import person_key

LOGIN, API_KEY, ANONYMOUS = "login", "api-key", "anonymous"


@dataclass(frozen=True)
class Caller:
    name: str          # the login's user name; '' for the API key and anonymous callers
    kind: str          # login | api-key | anonymous

    def rate_key(self, client_host: str | None) -> str:
        if self.kind == API_KEY:
            return "api-key"
        return person_key(self.name, client_host)

    @property
    def owner(self) -> str:
        """Whose private data (collections) this caller may see: the login's, else the no-login owner ''."""
        return self.name if self.kind == LOGIN else ""


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


def _login(pair: str, access: AccessPlan, client: str) -> Caller | None:
    user, sep, password = pair.partition(":")
    if sep and access.login_required and access.check(user, password, client):
        return Caller(user, LOGIN)
    return None


def identify(authorization: str | None, access: AccessPlan, api_key: str, client: str = "") -> Caller | None:
    """The caller these credentials prove, or None when they prove nobody (wrong logins count per `client`)."""
    scheme, _, value = (authorization or "").strip().partition(" ")
    value = value.strip()
    scheme = scheme.lower()
    if scheme == "bearer" and value:
        if api_key and _same(value, api_key):
            return Caller("", API_KEY)
        return _login(value, access, client)
    if scheme == "basic" and value:
        try:
            pair = base64.b64decode(value, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
        return _login(pair, access, client)
    return None


def authenticate(authorization: str | None, access: AccessPlan, api_key: str, client: str = "") -> Caller:
    """The caller, or ApiError 401 when credentials are required and missing or wrong."""
    caller = identify(authorization, access, api_key, client)
    if caller is not None:
        return caller
    if not api_key and not access.login_required:
        return Caller("", ANONYMOUS)
    if not (authorization or "").strip():
        accepted = "the API key as a bearer token" if api_key else ""
        if access.login_required:
            accepted += (" or " if accepted else "") + "a login (HTTP Basic, or 'user:password' as the bearer token)"
        raise missing_credentials(f"This API needs credentials: send {accepted}.")
    raise missing_credentials("Incorrect API key or login provided.")


def check_body_size(content_length: str | None, limit: int) -> None:
    if content_length and content_length.isdigit() and int(content_length) > limit:
        raise ApiError(413, f"The request body is {int(content_length) / 1e6:.1f} MB; the API accepts at most "
                            f"{limit / 1e6:.0f} MB.", code="request_too_large")
