"""Who may open the studio: logins for --listen / --share, and the state of the share link.

Safe by default: loopback needs no login; anything reachable from elsewhere (--listen, --share, a
non-loopback --host) needs one. --share without a login gets a generated one-time password.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path

from engine.errors import LoragError
from engine.lockout import LoginGuard
from engine.settings import Settings

log = logging.getLogger(__name__)

GENERATED_USER = "lorag"
SHARE_LIFETIME_S = 7 * 24 * 3600  # Gradio's share links last up to a week (best effort)


@dataclass
class AccessPlan:
    users: dict[str, str] = field(default_factory=dict)
    generated: bool = False        # the password was generated for this run
    insecure: bool = False         # reachable from elsewhere without a login (--insecure-no-auth)
    guard: LoginGuard = field(default_factory=LoginGuard, repr=False)  # wrong passwords slow down, then lock

    @property
    def login_required(self) -> bool:
        return bool(self.users)

    def check(self, username: str, password: str, client: str = "") -> bool:
        """Whether the password is right; False unchecked while the login (from `client`) is slowed or locked."""
        if self.guard.admit(username, client) is not None:
            return False
        expected = self.users.get(username)
        ok = expected is not None and hmac.compare_digest(expected.encode(), password.encode())
        self.guard.record(username, client, ok)
        return ok


@dataclass
class ShareState:
    """What the page shows about sharing."""

    requested: bool = False
    url: str = ""
    error: str = ""
    local_url: str = ""
    started_at: float = field(default_factory=time.time)

    @property
    def expires_at(self) -> float:
        return self.started_at + SHARE_LIFETIME_S

    def summary(self) -> str:
        if not self.requested:
            return ""
        if self.url:
            hours = max(0, int((self.expires_at - time.time()) // 3600))
            return f"Shared at {self.url} (expires in about {hours} h)"
        return f"Share link unavailable: {self.error} Serving locally at {self.local_url}"


def _parse_pairs(lines: list[str], where: str) -> dict[str, str]:
    users: dict[str, str] = {}
    for number, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        user, sep, password = line.partition(":")
        if not sep or not user.strip() or not password:
            raise LoragError(f"{where}, entry {number}: expected user:password.",
                             key="access.bad_entry", params={"where": where, "number": number})
        users[user.strip()] = password
    return users


def load_users(settings: Settings) -> dict[str, str]:
    users = _parse_pairs(settings.auth.split(",") if settings.auth else [], "--auth")
    if settings.auth_file:
        path = Path(settings.auth_file)
        if not path.is_file():
            raise LoragError(f"The --auth-file {path} does not exist.",
                             key="access.no_auth_file", params={"path": path})
        users.update(_parse_pairs(path.read_text().splitlines(), f"--auth-file {path}"))
    return users


def reachable_from_elsewhere(settings: Settings) -> bool:
    if settings.listen or settings.share:
        return True
    try:
        return not ipaddress.ip_address(settings.host).is_loopback
    except ValueError:
        return settings.host not in {"localhost"}


def plan_access(settings: Settings) -> AccessPlan:
    users = load_users(settings)
    if users or not reachable_from_elsewhere(settings):
        return AccessPlan(users=users)
    if settings.insecure_no_auth:
        log.warning("!" * 78)
        log.warning("--insecure-no-auth: ANYONE who reaches this address can use your models and files.")
        log.warning("!" * 78)
        return AccessPlan(insecure=True)
    if settings.share:
        return AccessPlan(users={GENERATED_USER: secrets.token_urlsafe(12)}, generated=True)
    raise LoragError("Serving beyond this machine (--listen or a non-loopback --host) needs a login.",
                     hint="Add --auth user:password or --auth-file FILE (or --insecure-no-auth, not recommended).",
                     key="access.needs_login", hint_key="access.needs_login_hint")
