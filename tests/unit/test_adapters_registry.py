"""The adapter registry on disk: listing without restart, imports (folder, zip), safetensors only, unsafe zips,
names, delete."""

from __future__ import annotations

import shutil
import stat
import zipfile
from pathlib import Path

import pytest

from engine.adapters.meta import AdapterMeta
from engine.adapters.registry import AdapterRegistry
from engine.errors import LoragError
from engine.models.service import ModelService
from tests.support.adapters import make_random_adapter


@pytest.fixture(scope="module")
def adapter(tmp_path_factory, tiny_qwen3_own_tokenizer) -> Path:
    return make_random_adapter(tiny_qwen3_own_tokenizer, tmp_path_factory.mktemp("src") / "made", seed=1)


@pytest.fixture
def registry(tmp_path) -> AdapterRegistry:
    return AdapterRegistry(tmp_path / "adapters", ModelService(tmp_path / "models", tmp_path / "adapters"))


def zip_of(path: Path, entries: dict[str, bytes | Path], links: dict[str, str] | None = None) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data.read_bytes() if isinstance(data, Path) else data)
        for name, target in (links or {}).items():
            info = zipfile.ZipInfo(name)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            archive.writestr(info, target)
    return path


def test_an_adapter_written_to_disk_is_listed_at_once(registry, adapter):
    assert registry.list() == []
    shutil.copytree(adapter, registry.dir / "from-training")      # what a finished training job does
    (registry.dir / ".staging-half-written").mkdir()               # never listed while being written
    names = [a.name for a in registry.list()]
    assert names == ["from-training"]
    info = registry.get("from-training")
    assert info.meta.rank == 4 and info.meta.source == "trained" and info.compatible is None
    assert info.size_bytes > 0 and info.usable


def test_import_folder_records_metadata(registry, adapter):
    info = registry.import_folder(adapter, "my.adapter-1")
    assert info.meta.name == "my.adapter-1" and info.meta.base.architecture == "Qwen3ForCausalLM"
    assert sorted(p.name for p in info.folder.iterdir()) == ["README.md", "adapter_config.json",
                                                             "adapter_model.safetensors", "lorag.json"]
    with pytest.raises(LoragError, match="already exists"):
        registry.import_folder(adapter, "my.adapter-1")


def test_import_without_lorag_json_reads_peft_config(registry, adapter, tmp_path):
    bare = tmp_path / "bare"
    shutil.copytree(adapter, bare)
    (bare / "lorag.json").unlink()
    info = registry.import_folder(bare, "bare")
    meta = AdapterMeta.load(info.folder)
    assert meta.source == "imported-folder" and meta.rank == 4 and meta.target_modules == ["q_proj", "v_proj"]


def test_pickled_weights_are_refused(registry, adapter, tmp_path):
    pickled = tmp_path / "pickled"
    pickled.mkdir()
    shutil.copy(adapter / "adapter_config.json", pickled)
    (pickled / "adapter_model.bin").write_bytes(b"\x80\x04not really a pickle")
    with pytest.raises(LoragError, match="safetensors only"):
        registry.import_folder(pickled, "pickled")
    with pytest.raises(LoragError, match="safetensors only"):
        registry.import_zip(zip_of(tmp_path / "p.zip", {"a/adapter_config.json": adapter / "adapter_config.json",
                                                        "a/adapter_model.bin": b"x"}), "pickled")
    shutil.copytree(pickled, registry.dir / "dropped-in")          # put there by hand: listed, but unusable
    info = registry.get("dropped-in")
    assert not info.usable and "safetensors only" in info.error
    assert "dropped-in" not in registry.names()
    assert [p.name for p in registry.dir.iterdir()] == ["dropped-in"]


def test_zip_import(registry, adapter, tmp_path):
    archive = zip_of(tmp_path / "ok.zip", {
        "my-adapter/adapter_config.json": adapter / "adapter_config.json",
        "my-adapter/adapter_model.safetensors": adapter / "adapter_model.safetensors",
        "my-adapter/notes/extra.txt": b"ignored",
    })
    info = registry.import_zip(archive, "zipped")
    assert info.usable and info.meta.source == "imported-zip"
    assert not (info.folder / "notes").exists()


@pytest.mark.parametrize("bad_name", ["../adapter_config.json", "/etc/adapter_config.json", "a/../../x.json",
                                      "C:/adapter_config.json"])
def test_zip_with_traversal_is_refused(registry, adapter, tmp_path, bad_name):
    archive = zip_of(tmp_path / "evil.zip", {bad_name: adapter / "adapter_config.json",
                                             "adapter_model.safetensors": adapter / "adapter_model.safetensors"})
    with pytest.raises(LoragError, match="refused"):
        registry.import_zip(archive, "evil")
    assert not (tmp_path / "adapter_config.json").exists()
    assert registry.list() == []


def test_zip_with_a_link_or_bomb_or_junk_is_refused(registry, adapter, tmp_path):
    linked = zip_of(tmp_path / "link.zip", {"adapter_config.json": adapter / "adapter_config.json"},
                    links={"adapter_model.safetensors": "/etc/passwd"})
    with pytest.raises(LoragError, match="symbolic link"):
        registry.import_zip(linked, "linked")
    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("adapter_config.json", (adapter / "adapter_config.json").read_bytes())
        archive.writestr("adapter_model.safetensors", b"\0" * 50_000_000)
    with pytest.raises(LoragError, match="zip bomb"):
        registry.import_zip(bomb, "bomb")
    junk = tmp_path / "junk.zip"
    junk.write_bytes(b"this is not a zip")
    with pytest.raises(LoragError, match="not a readable zip"):
        registry.import_zip(junk, "junk")
    with pytest.raises(LoragError, match="no adapter_config.json"):
        registry.import_zip(zip_of(tmp_path / "empty.zip", {"readme.txt": b"hi"}), "empty")


@pytest.mark.parametrize("name", ["../escape", "a/b", "", ".hidden", "x" * 65, "bad name"])
def test_names_are_validated(registry, adapter, name):
    with pytest.raises(LoragError):
        registry.import_folder(adapter, name)
    with pytest.raises(LoragError):
        registry.get(name)


def test_delete(registry, adapter):
    registry.import_folder(adapter, "to-delete")
    registry.delete("to-delete")
    assert registry.list() == [] and list(registry.dir.iterdir()) == []
    with pytest.raises(LoragError, match="no adapter"):
        registry.delete("to-delete")


def test_hub_import_offline_says_why(registry):
    with pytest.raises(LoragError, match="no connection|no model"):
        registry.import_hub("someone/some-lora", "from-hub")
    assert registry.list() == [] and list(registry.dir.iterdir()) == []
