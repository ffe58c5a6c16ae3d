"""What the documents need of Weaviate: where to connect, and whether the server behind it was restarted.

`Studio` owns the server (managed process or remote URL) and hands a `WeaviateLink` to the parts that use it,
so those parts can be built from a server alone (a test's own, say) without a Studio.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from engine.errors import LoragError

if TYPE_CHECKING:
    from engine.weaviate.server import ManagedWeaviate
    from engine.weaviate.status import RemoteWeaviate, WeaviateEndpoint


class WeaviateLink:
    def __init__(self, server: "ManagedWeaviate | RemoteWeaviate | None") -> None:
        self.server = server

    @property
    def available(self) -> bool:
        """False when the studio runs without Weaviate (--no-weaviate)."""
        return self.server is not None

    def endpoint(self) -> "WeaviateEndpoint":
        """Where to connect; a person-readable error when Weaviate is off or the managed server is down."""
        server = self.server
        if server is None:
            raise LoragError("Weaviate is turned off (--no-weaviate): documents are unavailable.",
                             key="documents.weaviate_off_unavailable")
        if server.managed and not server.running:
            raise LoragError("The Weaviate server is not running.", hint="Restart it from the Settings tab.",
                             key="documents.weaviate_not_running", hint_key="documents.weaviate_not_running_hint")
        return server.endpoint if server.managed else server.start()

    def identity(self) -> Any:
        """Changes when the managed server process was restarted (clients must reconnect then)."""
        return getattr(getattr(self.server, "process", None), "pid", None)
