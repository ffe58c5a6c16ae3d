"""What a hostile (or careless) person sends: traversal names, absolute paths, control characters, zips with
../ entries, links and bombs, oversized uploads, pickled adapters, malformed JSON and huge max_tokens through the
API. Each is refused with a message that says what is wrong, and nothing is written outside the data folder's
own subfolders (the tree around the data folder is compared before and after every test)."""

from __future__ import annotations

import json
import os
import shutil
import zipfile
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from engine.api.mount import api_routes
from engine.errors import LoragError
from tests.support.adapters import make_random_adapter
from tests.support.rag import make_studio, wait_job

pytestmark = pytest.mark.weaviate

BAD_NAMES = ["../evil", "../../etc/passwd", "/tmp/evil", "C:\\evil", "a/b", "evil\x00", "bad\nname", "tab\tname",
             "..", ".", "", "-dash-first", "a" * 65, "right\u202eleft", "späce name"]


def tree(root: Path, skip: Path | None = None) -> dict[str, tuple[int, int]]:
    """Every file and folder under `root` (except `skip`) -> (size, mtime)."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        if skip is not None and Path(dirpath) == skip.parent:
            dirnames[:] = [d for d in dirnames if Path(dirpath, d) != skip]
        for name in dirnames + filenames:
            path = Path(dirpath, name)
            if skip is not None and path == skip:
                continue
            stat = path.lstat()
            out[str(path.relative_to(root))] = (stat.st_size if path.is_file() else 0, int(stat.st_mtime))
    return out


@pytest.fixture(scope="module")
def studio(tmp_path_factory, tiny_qwen3):
    root = tmp_path_factory.mktemp("hostile")
    studio = make_studio(root / "data", max_upload_mb=1, api=True)
    studio.rag.create_collection("docs")
    make_random_adapter(tiny_qwen3, root / "good-adapter", seed=2)
    studio.models.load(str(tiny_qwen3))
    yield studio
    studio.close()


@pytest.fixture(autouse=True)
def nothing_written_outside(studio):
    data = Path(studio.settings.data_dir)
    root = data.parent
    around = tree(root, skip=data)
    top = {p.name for p in data.iterdir()}
    yield
    assert tree(root, skip=data) == around, "something was written next to the data folder"
    assert {p.name for p in data.iterdir()} <= top | {"lorag.sqlite-journal"}, "a new entry at the data folder's top"
    assert not [p for p in root.rglob("*evil*")]


@pytest.fixture
def api(studio):
    with TestClient(Starlette(routes=api_routes(studio))) as client:
        yield client


def zip_of(path: Path, entries: dict[str, bytes], links: dict[str, str] | None = None) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
        for name, target in (links or {}).items():
            info = zipfile.ZipInfo(name)
            info.external_attr = 0o120777 << 16
            archive.writestr(info, target)
    return path


def adapter_files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}


@pytest.mark.parametrize("name", BAD_NAMES)
def test_bad_names_are_refused_everywhere(studio, name, tmp_path):
    good = Path(studio.settings.data_dir).parent / "good-adapter"
    for attempt in (lambda: studio.adapters.import_folder(good, name),
                    lambda: studio.adapters.import_zip(zip_of(tmp_path / "a.zip", adapter_files(good)), name),
                    lambda: studio.rag.create_collection(name),
                    lambda: studio.rag.rename_collection("docs", name),
                    lambda: studio.adapters.start_merge_export("x", name)):
        with pytest.raises(LoragError) as err:
            attempt()
        message = str(err.value)
        assert "not allowed" in message or "is empty" in message or "no adapter" in message.lower(), message
    assert [c.name for c in studio.rag.list_collections()] == ["docs"]
    assert studio.adapters.list() == []


@pytest.mark.parametrize("entries, links, message", [
    ({"../evil/adapter_config.json": b"{}"}, None, "points outside"),
    ({"ok/../../evil.txt": b"x", "adapter_config.json": b"{}"}, None, "points outside"),
    ({"/tmp/evil.json": b"{}"}, None, "points outside"),
    ({"C:/evil.json": b"{}"}, None, "points outside"),
    ({"adapter_config.json": b"{}"}, {"adapter_model.safetensors": "/etc/passwd"}, "symbolic link"),
    ({"adapter_config.json": b"{}", "adapter_model.safetensors": b"\0" * 50_000_000}, None, "zip bomb"),
])
def test_unsafe_zips_are_refused_before_extraction(studio, tmp_path, entries, links, message):
    archive = zip_of(tmp_path / "hostile.zip", entries, links)
    with pytest.raises(LoragError, match=message):
        studio.adapters.import_zip(archive, "hostile")
    assert not list(Path(studio.adapters.dir).iterdir())          # no staging folder left behind


def test_pickled_adapters_are_refused(studio, tmp_path):
    good = Path(studio.settings.data_dir).parent / "good-adapter"
    pickled = tmp_path / "pickled"
    pickled.mkdir()
    shutil.copy(good / "adapter_config.json", pickled)
    (pickled / "adapter_model.bin").write_bytes(b"\x80\x04not-really-a-pickle")
    with pytest.raises(LoragError, match="pickled weights.*safetensors only"):
        studio.adapters.import_folder(pickled, "pickled")
    with pytest.raises(LoragError, match="pickled weights"):
        studio.adapters.import_zip(zip_of(tmp_path / "p.zip", adapter_files(pickled)), "pickled")
    assert studio.adapters.list() == []


def test_oversized_and_disguised_uploads_are_refused_per_file(studio, tmp_path):
    big = tmp_path / "big.txt"
    big.write_text("word " * 300_000)                        # 1.5 MB, over --max-upload-mb 1
    fake = tmp_path / "report.pdf"
    fake.write_bytes(b"#!/bin/sh\nrm -rf /\n")
    job = wait_job(studio, studio.rag.ingest("docs", [big, fake, ("../../evil.md", big), ("/etc/evil\x00.md", big)]).id)
    errors = {f["name"]: f["error"] for f in job.result["files"]}
    assert "over the limit of 1 MB" in errors["big.txt"] and "--max-upload-mb" in errors["big.txt"]
    assert "the name says PDF but the content is" in errors["report.pdf"]
    assert "over the limit" in errors["evil.md"]                  # the path parts and controls are gone
    assert set(errors) == {"big.txt", "report.pdf", "evil.md"}
    assert studio.rag.documents("docs") == []
    assert not list(Path(studio.settings.path("uploads")).rglob("*"))


def test_malformed_api_bodies_are_refused_clearly(api, studio):
    base = studio.models.current.name
    cases = [
        (b"{", 400, "not valid JSON"),
        (b"null", 400, "must be a JSON object"),
        (b'{"model": "' + base.encode() + b'", "messages": "hi"}', 400, "Invalid 'messages'"),
        (json.dumps({"model": base, "messages": [{"role": "user", "content": "x"}], "max_tokens": 10**12}).encode(),
         400, "generates at most"),
        (json.dumps({"model": base, "messages": [{"role": "user", "content": "x"}], "temperature": "hot"}).encode(),
         400, "Invalid 'temperature'"),
        (json.dumps({"model": f"{base}@../../../etc", "messages": [{"role": "user", "content": "x"}]}).encode(),
         404, "not allowed"),
        (json.dumps({"model": f"{base}@/tmp/evil", "messages": [{"role": "user", "content": "x"}]}).encode(),
         404, "not allowed"),
        (json.dumps({"model": "../../evil", "input": "x"}).encode(), 404, "neither a collection"),
    ]
    for body, status, message in cases:
        path = "/v1/embeddings" if b'"input"' in body else "/v1/chat/completions"
        response = api.post(path, content=body, headers={"content-type": "application/json"})
        assert response.status_code == status, (body, response.text)
        assert message in response.json()["error"]["message"], response.text


def test_hostile_chat_imports_are_refused(studio):
    for data, message in [(b"\xff\xfe garbage", "does not parse"), ('{"messages": "x"}', "needs a 'messages' list"),
                          ('[{"role": "root", "content": "x"}]', "needs a role"),
                          ('{"format": "other", "messages": []}', "Unknown chat export format")]:
        with pytest.raises(LoragError, match=message):
            studio.chats.import_chat(data)
    assert studio.chats.list() == []
