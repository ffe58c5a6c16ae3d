"""Documents: parse (unstructured) -> chunk -> embed (sentence-transformers) -> store (Weaviate) -> retrieve -> cite.

The entry point is `engine.rag.service.RagService`, reached as `studio.rag`: collections
(engine.rag.collections), ingestion jobs (engine.rag.ingestion) and retrieval (engine.rag.retrieval), each
method's docstring its contract. Records (Collection, Document, Hit, Citation, Source) live in
`engine.rag.types`, which imports only the standard library. Nothing here imports gradio; the heavy
libraries (unstructured, sentence-transformers, weaviate) load inside the functions that need them.
"""
