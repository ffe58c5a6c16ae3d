"""The Weaviate side of a collection: one Weaviate collection per Lorag collection (per index generation),
with self-provided vectors (cosine HNSW) and BM25 on the chunk text.

`WeaviateClients` keeps one client and reconnects when the endpoint or the managed server process
changed (a restart from the Settings tab) or the connection went dead. `ChunkIndex` wraps one Weaviate
collection: batch insert with failed objects reported, delete by document, count, hybrid search, fetch.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any, Callable

from engine.errors import LoragError

log = logging.getLogger(__name__)

CHUNK_NAMESPACE = uuid.UUID("6f1c6c64-9a49-5d7e-b0a8-4c6f7261672e")  # fixed: chunk ids must never change
# BM25 reads the chunk and its document's title (a question names the company, the report, the year), as word
# stems (engine.rag.stems); collections indexed before stems were stored are searched on text and title.
STEMS = "stems"
TEXT_PROPERTIES = ["text", "title"]
TITLE = "title"
PAGE_STARTS = "page_starts"
HUNG_AFTER_S = 10.0  # a live Weaviate answers its liveness check in milliseconds, even on a loaded machine
LEADERLESS = "leader not found"  # what a cluster node answers a schema read while there is no Raft leader
ELECTION_WAIT_S = 60.0


def chunk_uuid(document_sha256: str, index: int, model: str) -> str:
    """Deterministic chunk id: the same file, chunk and embedding model always give the same object."""
    return str(uuid.uuid5(CHUNK_NAMESPACE, f"{document_sha256}:{index}:{model}"))


def weaviate_name(collection_id: str, generation: int) -> str:
    """A valid Weaviate collection name (capital first letter, letters/digits/underscore)."""
    return f"Lorag_{collection_id}_g{generation}"


@dataclass
class StoreReport:
    stored: int
    failed: dict[int, str]  # chunk index -> Weaviate's message


def riding_out_an_election(call: Callable[[], Any], replicated: bool = False) -> Any:
    """`call()`, again while a cluster has no Raft leader: when the leader dies, schema reads answer 'leader not
    found' (on a replicated collection, other server errors too) until the other nodes elect one (seconds; longer
    on a loaded machine). Data reads and writes do not wait for it, so a search goes on answering meanwhile."""
    from weaviate.exceptions import UnexpectedStatusCodeError, WeaviateBaseError

    deadline, pause = time.monotonic() + ELECTION_WAIT_S, 0.25
    while True:
        try:
            return call()
        except WeaviateBaseError as exc:
            server_error = isinstance(exc, UnexpectedStatusCodeError) and exc.status_code >= 500
            if not (LEADERLESS in str(exc) or (replicated and server_error)) or time.monotonic() > deadline:
                raise
            log.info("Weaviate answered %s; asking again in %.2f s", exc, pause)
        time.sleep(pause)
        pause = min(2 * pause, 4.0)


class WeaviateClients:
    """One weaviate-client per RagService; reconnects after a server restart."""

    def __init__(self, endpoint_fn: Callable[[], Any], identity_fn: Callable[[], Any]) -> None:
        self._endpoint_fn = endpoint_fn
        self._identity_fn = identity_fn
        self._client = None
        self._identity = None
        self._lock = threading.Lock()

    def get(self):
        from engine.weaviate import connect

        with self._lock:
            endpoint = self._endpoint_fn()
            live = self._check_answers(endpoint)
            identity = (endpoint, self._identity_fn())
            if self._client is not None and identity == self._identity and live:
                return self._client
            self._close_locked()
            try:
                self._client = connect(endpoint)
            except Exception as exc:
                raise LoragError(f"Cannot connect to Weaviate at {endpoint.url}: {exc}",
                                 hint="Check its status in the Settings tab.",
                                 key="documents.weaviate_unreachable", hint_key="documents.weaviate_unreachable_hint",
                                 params={"url": endpoint.url, "exc": exc}) from None
            self._identity = identity
            return self._client

    @staticmethod
    def _check_answers(endpoint) -> bool:
        """True when the server answers (the client kept may go on); False when it is down (a reconnect says so).
        A hung server (alive, not answering) is refused at once: the client would wait its full timeout on every
        call (about two minutes for a search), then call it a failed connection."""
        from engine.weaviate.status import HUNG, LIVE, liveness

        state = liveness(endpoint, HUNG_AFTER_S)
        if state == HUNG:
            raise LoragError(f"Weaviate at {endpoint.url} does not answer within {HUNG_AFTER_S:.0f} s: it is "
                             "running but hung or overloaded.",
                             hint="Wait a little, or restart it from the Settings tab.",
                             key="documents.weaviate_hung", hint_key="documents.weaviate_hung_hint",
                             params={"url": endpoint.url, "seconds": f"{HUNG_AFTER_S:.0f}"})
        return state == LIVE

    def _close_locked(self) -> None:
        if self._client is not None:
            try:
                self._client.close()
            except Exception:  # a dead connection may fail to close; it is gone either way
                pass
        self._client = None

    def close(self) -> None:
        with self._lock:
            self._close_locked()


class ChunkIndex:
    def __init__(self, client, name: str, replicas: int = 1, consistency: str = "QUORUM") -> None:
        self.client = client
        self.name = name
        self.replicas = replicas
        self.consistency = consistency  # of every read and write, when replicated

    # --- schema -----------------------------------------------------------------------------------------
    def exists(self) -> bool:
        return riding_out_an_election(lambda: self.client.collections.exists(self.name), self.replicas > 1)

    def create(self) -> None:
        from weaviate.classes.config import Configure, DataType, Property, Tokenization, VectorDistances

        if self.exists():
            self._add_title_property()
            return

        def meta(name: str, kind: Any, **kw: Any) -> Property:
            return Property(name=name, data_type=kind, index_searchable=False, **kw)

        self.client.collections.create(
            self.name,
            description="Lorag document chunks",
            vector_config=Configure.Vectors.self_provided(
                vector_index_config=Configure.VectorIndex.hnsw(distance_metric=VectorDistances.COSINE)),
            inverted_index_config=Configure.inverted_index(),
            replication_config=self._replication(),
            properties=[
                Property(name="text", data_type=DataType.TEXT, tokenization=Tokenization.WORD),
                _title_property(), _stems_property(),
                meta("document_id", DataType.TEXT, tokenization=Tokenization.FIELD),
                meta("filename", DataType.TEXT, tokenization=Tokenization.FIELD),
                meta("section", DataType.TEXT, tokenization=Tokenization.FIELD),
                Property(name="pages", data_type=DataType.INT_ARRAY),
                _page_starts_property(),
                Property(name="chunk_index", data_type=DataType.INT),
                meta("element_types", DataType.TEXT_ARRAY, tokenization=Tokenization.FIELD),
                meta("embedding_model", DataType.TEXT, tokenization=Tokenization.FIELD),
                Property(name="html", data_type=DataType.TEXT, index_searchable=False, index_filterable=False),
            ],
        )

    def _replication(self):
        """On a cluster: `replicas` copies, kept in step by repair on read and by async replication (Weaviate 1.38+
        runs it for every replicated collection: a node that was down catches up by itself); a delete and a write
        of one chunk on different nodes: the later wins."""
        from weaviate.classes.config import Configure, ReplicationDeletionStrategy

        if self.replicas <= 1:
            return None
        return Configure.replication(factor=self.replicas,
                                     deletion_strategy=ReplicationDeletionStrategy.TIME_BASED_RESOLUTION)

    def _add_title_property(self) -> None:
        """Collections made before titles and page offsets were stored get the properties (old chunks have none)."""
        names = self._property_names()
        if TITLE not in names:
            self._collection.config.add_property(_title_property())
        if PAGE_STARTS not in names:
            self._collection.config.add_property(_page_starts_property())
        if STEMS not in names:
            self._collection.config.add_property(_stems_property())

    def _property_names(self) -> set[str]:
        config = riding_out_an_election(lambda: self._collection.config.get(), self.replicas > 1)
        return {p.name for p in config.properties}

    def drop(self) -> None:
        if self.exists():
            self.client.collections.delete(self.name)

    @property
    def _collection(self):
        from weaviate.classes.config import ConsistencyLevel

        handle = self.client.collections.use(self.name)
        return handle.with_consistency_level(ConsistencyLevel(self.consistency)) if self.replicas > 1 else handle

    # --- writes -----------------------------------------------------------------------------------------
    def insert(self, objects: list[dict[str, Any]], batch_size: int = 128,
               on_batch: Callable[[int, int], None] | None = None) -> StoreReport:
        """objects: {"uuid", "vector", "properties"}. Each batch is retried once for its failed objects."""
        from weaviate.classes.data import DataObject
        from weaviate.exceptions import WeaviateBatchError, WeaviateInsertManyAllFailedError

        failed: dict[int, str] = {}
        stored = 0
        for start in range(0, len(objects), batch_size):
            batch = objects[start:start + batch_size]
            todo = list(range(len(batch)))
            for _attempt in range(2):
                data = [DataObject(properties=batch[i]["properties"], uuid=batch[i]["uuid"],
                                   vector=batch[i]["vector"]) for i in todo]
                try:
                    result = self._collection.data.insert_many(data)
                    errors = {todo[k]: err.message for k, err in result.errors.items()}
                except (WeaviateInsertManyAllFailedError, WeaviateBatchError) as exc:
                    # A whole batch timed out: on a cluster whose Raft leader just died, the first write waits
                    # about a minute for the new leader. Chunk ids are fixed, so writing it again doubles nothing.
                    errors = {i: str(exc) for i in todo}
                todo = sorted(errors)
                if not todo:
                    break
                log.warning("Weaviate refused %d object(s) of %s; retrying once", len(todo), self.name)
            stored += len(batch) - len(todo)
            for i in todo:
                failed[batch[i]["properties"]["chunk_index"]] = errors[i]
            if on_batch:
                on_batch(min(start + batch_size, len(objects)), len(objects))
        return StoreReport(stored=stored, failed=failed)

    def delete_document(self, document_id: str, from_chunk: int = 0) -> int:
        from weaviate.classes.query import Filter

        if not self.exists():
            return 0
        where = Filter.by_property("document_id").equal(document_id)
        if from_chunk:
            where = where & Filter.by_property("chunk_index").greater_or_equal(from_chunk)
        deleted = riding_out_an_election(lambda: self._collection.data.delete_many(where=where),  # idempotent
                                         self.replicas > 1)
        return deleted.successful

    # --- reads ------------------------------------------------------------------------------------------
    def count(self, document_id: str | None = None) -> int:
        from weaviate.classes.query import Filter

        if not self.exists():
            return 0
        if document_id:
            filters = Filter.by_property("document_id").equal(document_id)
        elif self.replicas > 1:
            # Weaviate's unfiltered count of a replicated collection asks every replica and hangs while a node is
            # down; a filtered count is a search, which answers from the replicas that are up.
            filters = Filter.by_property("chunk_index").greater_or_equal(0)
        else:
            filters = None
        return self._collection.aggregate.over_all(total_count=True, filters=filters).total_count or 0

    def hybrid(self, query: str, vector: list[float], k: int, alpha: float,
               document_ids: list[str] | None = None) -> list[tuple[str, dict[str, Any], float, list[float]]]:
        """(uuid, properties, hybrid score, vector) best first."""
        from weaviate.classes.query import Filter, HybridFusion, MetadataQuery

        from engine.rag.context import keyword_query
        from engine.rag.stems import stem_text

        filters = Filter.by_property("document_id").contains_any(document_ids) if document_ids else None
        keywords = keyword_query(query)
        if self.has_stems():
            keywords, properties = stem_text(keywords), [STEMS]
        else:
            properties = [p for p in TEXT_PROPERTIES if p != TITLE or self.has_titles()]
        result = self._collection.query.hybrid(
            query=keywords, vector=vector, alpha=alpha, limit=k, filters=filters, query_properties=properties,
            fusion_type=HybridFusion.RELATIVE_SCORE, return_metadata=MetadataQuery(score=True),
            include_vector=True)
        return [(str(o.uuid), o.properties, float(o.metadata.score or 0.0), _vector(o.vector)) for o in result.objects]

    def chunks(self, limit: int) -> list[dict[str, Any]]:
        """Up to `limit` chunks' properties (text, filename, pages, chunk_index), in storage order."""
        if not self.exists():
            return []
        out = []
        for obj in self._collection.iterator(include_vector=False):
            out.append(dict(obj.properties))
            if len(out) >= limit:
                break
        return out

    def has_titles(self) -> bool:
        return self._has(TITLE)

    def has_stems(self) -> bool:
        """True when the chunks carry stems (an older collection's do once it is re-indexed; until then some may
        not, so it is asked of the data, not the schema)."""
        if (self.name, STEMS) not in _KNOWN:
            found = self._collection.query.fetch_objects(limit=1, return_properties=[STEMS]).objects
            if not found or not found[0].properties.get(STEMS):
                return False
            _KNOWN.add((self.name, STEMS))
        return True

    def _has(self, prop: str) -> bool:
        if (self.name, prop) not in _KNOWN:
            if prop not in self._property_names():
                return False
            _KNOWN.add((self.name, prop))
        return True

    def fetch(self, chunk_id: str) -> dict[str, Any] | None:
        if not self.exists():
            return None
        obj = self._collection.query.fetch_object_by_id(chunk_id)
        return dict(obj.properties) if obj is not None else None


_KNOWN: set[tuple[str, str]] = set()  # (Weaviate collection, property) known present (never removed)


def _title_property():
    from weaviate.classes.config import DataType, Property, Tokenization

    return Property(name=TITLE, data_type=DataType.TEXT, tokenization=Tokenization.WORD, index_filterable=False)


def _stems_property():
    from weaviate.classes.config import DataType, Property, Tokenization

    return Property(name=STEMS, data_type=DataType.TEXT, tokenization=Tokenization.WHITESPACE, index_filterable=False)


def _page_starts_property():
    from weaviate.classes.config import DataType, Property

    return Property(name=PAGE_STARTS, data_type=DataType.INT_ARRAY, index_filterable=False)


def _vector(vectors: Any) -> list[float]:
    if isinstance(vectors, dict):
        vectors = vectors.get("default") or next(iter(vectors.values()), [])
    return list(vectors or [])
