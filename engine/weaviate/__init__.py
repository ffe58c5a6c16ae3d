"""Weaviate: a managed local server process, or a connection to a given URL."""

from engine.weaviate.status import RemoteWeaviate, WeaviateEndpoint, WeaviateStatus, probe

__all__ = ["RemoteWeaviate", "WeaviateEndpoint", "WeaviateStatus", "probe", "connect"]


def connect(endpoint: WeaviateEndpoint):
    """A weaviate-client v4 client for `endpoint` (no calls out to package indexes)."""
    import weaviate
    from weaviate.classes.init import AdditionalConfig, Auth, Timeout

    return weaviate.connect_to_custom(
        http_host=endpoint.host, http_port=endpoint.http_port, http_secure=endpoint.secure,
        grpc_host=endpoint.host, grpc_port=endpoint.grpc_port, grpc_secure=endpoint.secure,
        auth_credentials=Auth.api_key(endpoint.api_key) if endpoint.api_key else None,
        skip_init_checks=True,
        additional_config=AdditionalConfig(timeout=Timeout(init=10, query=60, insert=120)),
    )
