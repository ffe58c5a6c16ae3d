"""Where a Weaviate server is, and what state it is in (read over its REST API, no client needed)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from urllib.parse import urlparse


@dataclass(frozen=True)
class WeaviateEndpoint:
    host: str
    http_port: int
    grpc_port: int
    api_key: str = ""
    secure: bool = False

    @property
    def url(self) -> str:
        return f"{'https' if self.secure else 'http'}://{self.host}:{self.http_port}"

    @classmethod
    def from_url(cls, url: str, grpc_port: int = 0, api_key: str = "") -> "WeaviateEndpoint":
        parsed = urlparse(url if "://" in url else f"http://{url}")
        secure = parsed.scheme == "https"
        port = parsed.port or (443 if secure else 8080)
        return cls(host=parsed.hostname or "127.0.0.1", http_port=port, grpc_port=grpc_port or 50051,
                   api_key=api_key, secure=secure)


@dataclass
class WeaviateStatus:
    running: bool
    managed: bool
    url: str
    version: str = ""
    object_count: int | None = None
    ready: bool = False
    error: str = ""
    log_tail: str = ""

    def summary(self) -> str:
        where = "managed" if self.managed else "external"
        if not self.running:
            return f"Weaviate: down ({self.error or 'not running'})"
        count = f", {self.object_count} objects" if self.object_count is not None else ""
        return f"Weaviate {self.version}: running ({where}, {self.url}{count})"


def _get_json(endpoint: WeaviateEndpoint, path: str, timeout: float) -> tuple[int, object]:
    request = urllib.request.Request(endpoint.url + path)
    if endpoint.api_key:
        request.add_header("Authorization", f"Bearer {endpoint.api_key}")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            body = response.read()
            return response.status, json.loads(body) if body else None
    except urllib.error.HTTPError as exc:
        return exc.code, None


def probe(endpoint: WeaviateEndpoint, details: bool = False, timeout: float = 2.0) -> WeaviateStatus:
    """Ready check, plus version and object count when `details`."""
    status = WeaviateStatus(running=False, managed=False, url=endpoint.url)
    try:
        code, _ = _get_json(endpoint, "/v1/.well-known/ready", timeout)
        status.running = True
        status.ready = code == 200
        if not status.ready:
            status.error = f"not ready (HTTP {code})"
            return status
        if details:
            code, meta = _get_json(endpoint, "/v1/meta", timeout)
            if code == 401:
                status.error = "the API key was refused"
                return status
            status.version = (meta or {}).get("version", "")
            _, nodes = _get_json(endpoint, "/v1/nodes?output=verbose", timeout)
            status.object_count = sum(
                (node.get("stats") or {}).get("objectCount", 0) for node in (nodes or {}).get("nodes", [])
            )
    except (OSError, ValueError) as exc:
        status.running = False
        status.error = f"unreachable ({getattr(exc, 'reason', exc)})"
    return status


class RemoteWeaviate:
    """A Weaviate server that someone else runs (--weaviate-url)."""

    managed = False

    def __init__(self, url: str, grpc_port: int = 0, api_key: str = "") -> None:
        self.endpoint = WeaviateEndpoint.from_url(url, grpc_port, api_key)

    def start(self) -> WeaviateEndpoint:
        return self.endpoint

    def stop(self) -> None:
        pass

    def restart(self) -> WeaviateEndpoint:
        return self.endpoint

    @property
    def running(self) -> bool:
        return probe(self.endpoint).ready

    def status(self) -> WeaviateStatus:
        return probe(self.endpoint, details=True)
