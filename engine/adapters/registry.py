"""AdapterRegistry (`studio.adapters`): the LoRA adapters under data/adapters/<name>/.

Public API:
- `list() -> list[AdapterInfo]` reads the folder on every call, so an adapter that training (or a person)
  writes there shows up at once, no restart. Each entry says whether it is resident on the loaded model and
  whether it fits it (`compatible`, `reason`). `names()` lists the usable names, the LoRA models of an engine
  model (--engine-url) among them. `get(name) -> AdapterInfo`.
- `import_folder(path, name)`, `import_zip(path, name)`, `import_hub(repo_id, name, token)`: safetensors only
  (pickled .bin weights are refused with a message); zip entries are checked for path traversal, links and size.
- `delete(name)`: unloads it from the model first (the base keeps working) and removes the folder.
- `check(name)`: '' when it can run on the loaded model, else the message naming the base it needs.
- `activate(name) -> float` (seconds spent loading; 0 when already resident), `unload(name)`.
- `merge_export(name, out_name) -> Path` (and `start_merge_export` as a job): the adapter merged into a fresh copy
  of the base, saved as data/models/<out_name> with the tokenizer and chat template; the loaded model stays clean.

A folder being written (by an import or by training) is named with a leading '.', which `list()` skips, and
renamed into place when complete.
"""

from __future__ import annotations

import logging
import os
import shutil
import uuid
import zipfile
from dataclasses import replace
from pathlib import Path
from typing import Any

from engine.adapters.files import (
    CONFIG_FILE,
    KEPT_FILES,
    WEIGHTS_FILE,
    AdapterInfo,
    check_weights,
    folder_size,
    meta_from_config,
    read_config,
    read_meta,
)
from engine.adapters.meta import META_FILE, AdapterMeta
from engine.errors import LoragError
from engine.safety import ADAPTER_NAME, MODEL_NAME, inside, validate_name

log = logging.getLogger(__name__)

MAX_ZIP_BYTES = 4 * 1024**3        # uncompressed size of everything extracted from one zip
MAX_ZIP_ENTRIES = 200
MAX_ZIP_RATIO = 200                # uncompressed/compressed per entry: more is a zip bomb
HUB_PATTERNS = [CONFIG_FILE, WEIGHTS_FILE, META_FILE, "README.md"]


class AdapterRegistry:
    def __init__(self, adapters_dir: Path, models: Any, jobs: Any = None) -> None:
        self.dir = Path(adapters_dir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.models = models
        self.jobs = jobs
        self._mark_dead_merges()

    # --- reading ------------------------------------------------------------------------------------------
    def folder(self, name: str) -> Path:
        return inside(self.dir, validate_name(name, ADAPTER_NAME))

    def list(self) -> list[AdapterInfo]:
        infos = []
        for entry in sorted(self.dir.iterdir(), key=lambda p: p.name.lower()):
            if entry.is_dir() and not entry.name.startswith(".") and (entry / CONFIG_FILE).is_file():
                infos.append(self._info(entry.name, entry))
        return infos

    def names(self) -> list[str]:
        """Adapters that can run on the loaded model (all readable ones when no model is loaded)."""
        on_disk = [info.name for info in self.list() if info.usable]
        return on_disk + [name for name in self.models.engine_adapters() if name not in on_disk]

    def get(self, name: str) -> AdapterInfo:
        folder = self.folder(name)
        if not (folder / CONFIG_FILE).is_file():
            raise LoragError(f"There is no adapter {name!r}.", key="adapters.not_found", params={"name": name})
        return self._info(name, folder)

    def _info(self, name: str, folder: Path) -> AdapterInfo:
        try:
            meta = read_meta(folder, name)
            check_weights(folder)
        except LoragError as exc:
            return AdapterInfo(name, folder, AdapterMeta(name=name), error=str(exc))
        info = AdapterInfo(name, folder, meta, size_bytes=folder_size(folder), base_model=meta.base.model)
        current = self.models.current
        if current is not None:
            info.resident = name in self.models.resident_adapters()
            try:
                info.reason = self.models.adapter_problem(name)
            except LoragError as exc:
                info.reason = str(exc)
            info.compatible = not info.reason
        return info

    def check(self, name: str) -> str:
        if name in self.models.engine_adapters():
            return ""
        info = self.get(name)
        return info.error or info.reason

    # --- hot-swap -------------------------------------------------------------------------------------------
    def activate(self, name: str) -> float:
        return self.models.activate_adapter(name)

    def unload(self, name: str) -> bool:
        return self.models.drop_adapter(name)

    # --- imports --------------------------------------------------------------------------------------------
    def import_folder(self, path: str | Path, name: str, source: str = "imported-folder") -> AdapterInfo:
        src = Path(path).expanduser()
        if not src.is_dir():
            raise LoragError(f"There is no folder {src}.", key="adapters.no_folder", params={"src": src})
        name = self._free_name(name)
        check_weights(src)
        config = read_config(src)
        staging = self._staging()
        try:
            for file in KEPT_FILES:
                if (src / file).is_file():
                    shutil.copy2(src / file, staging / file)
            self._write_meta(staging, name, config, source)
            os.replace(staging, self.folder(name))
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        log.info("imported adapter %s from %s", name, src)
        return self.get(name)

    def import_zip(self, path: str | Path, name: str) -> AdapterInfo:
        name = self._free_name(name)
        staging = self._staging()
        try:
            _extract_adapter_zip(Path(path), staging)
            return self.import_folder(staging, name, source="imported-zip")
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    def import_hub(self, repo_id: str, name: str, token: str = "") -> AdapterInfo:
        from huggingface_hub import snapshot_download

        name = self._free_name(name)
        staging = self._staging()
        try:
            try:
                snapshot_download(repo_id, local_dir=staging, token=token or None, allow_patterns=HUB_PATTERNS + [
                    "adapter_model.bin"])
            except Exception as exc:  # noqa: BLE001 - turned into a message for the person
                from engine.models.loading import _download_error

                raise _download_error(repo_id, exc) from exc
            shutil.rmtree(staging / ".cache", ignore_errors=True)
            info = self.import_folder(staging, name, source="imported-hub")
            meta = replace(info.meta, source="imported-hub")
            if not meta.base.model:
                meta.base.model = read_config(info.folder).get("base_model_name_or_path", "") or ""
            meta.params = {**meta.params, "hub_id": repo_id}
            meta.save(info.folder)
            return self.get(name)
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    def _free_name(self, name: str) -> str:
        name = validate_name(name, ADAPTER_NAME)
        if self.folder(name).exists():
            raise LoragError(f"An adapter named {name!r} already exists.", hint="Pick another name or delete it.",
                             key="adapters.exists", hint_key="adapters.exists_hint", params={"name": name})
        return name

    def _staging(self) -> Path:
        staging = self.dir / f".staging-{uuid.uuid4().hex[:10]}"
        staging.mkdir()
        return staging

    def _write_meta(self, folder: Path, name: str, config: dict[str, Any], source: str) -> None:
        if (folder / META_FILE).is_file():
            try:
                meta = AdapterMeta.load(folder)
                meta.name = name
                meta.save(folder)
                return
            except (ValueError, TypeError):
                log.warning("replacing an unreadable %s", META_FILE)
        meta_from_config(config, name, source).save(folder)

    # --- delete ----------------------------------------------------------------------------------------------
    def delete(self, name: str) -> None:
        folder = self.folder(name)
        if not folder.is_dir():
            raise LoragError(f"There is no adapter {name!r}.", key="adapters.not_found", params={"name": name})
        self.models.drop_adapter(name)
        trash = self.dir / f".deleting-{uuid.uuid4().hex[:10]}"
        os.replace(folder, trash)
        shutil.rmtree(trash, ignore_errors=True)
        log.info("deleted adapter %s", name)

    # --- merge + export -----------------------------------------------------------------------------------
    def merge_export(self, name: str, out_name: str, progress: Any = None) -> Path:
        from engine.adapters.merge import merge_into_fresh_base

        current = self.models.current
        if current is None:
            raise LoragError("Load the base model first: merging needs to know which model to merge into.",
                             key="adapters.merge_needs_base")
        problem = self.check(name)
        if problem:
            raise LoragError(problem, key="adapters.incompatible", params={"problem": problem})
        out_name = validate_name(out_name, MODEL_NAME)
        dest = inside(self.models.models_dir, out_name)
        if dest.exists():
            raise LoragError(f"data/models/{out_name} already exists.", hint="Pick another name.",
                             key="adapters.merged_exists", hint_key="adapters.merged_exists_hint",
                             params={"out_name": out_name})
        return merge_into_fresh_base(Path(current.folder), self.folder(name), dest, progress=progress)

    def start_merge_export(self, name: str, out_name: str) -> Any:
        if self.jobs is None:
            raise LoragError("Merging in the background needs the studio's job store.", key="adapters.merge_needs_jobs")
        validate_name(out_name, MODEL_NAME)
        self.get(name)
        job = self.jobs.create("merge", f"Merge {name} into {out_name}", config={"adapter": name, "out": out_name})

        def work(ctx: Any) -> dict[str, Any]:
            dest = self.merge_export(name, out_name, progress=lambda f, m: (ctx.progress(f, m), ctx.log(m)))
            return {"folder": str(dest)}

        self.jobs.run_in_thread(job, work)
        return job

    def _mark_dead_merges(self) -> None:
        """Merge jobs run in the studio process: one still 'running' from another process died with it."""
        if self.jobs is None:
            return
        for job in self.jobs.list(kind="merge"):
            if job.active and job.pid not in (None, os.getpid()):
                self.jobs.finish(job.id, "interrupted", "The studio stopped while this merge ran. Start it again.")


def _extract_adapter_zip(path: Path, dest: Path) -> None:
    """Extract the adapter files of an uploaded zip into `dest`, refusing anything unsafe."""
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise LoragError(f"{path.name} is not a readable zip file.",
                         key="adapters.bad_zip", params={"name": path.name}) from exc
    with archive:
        entries = archive.infolist()
        if len(entries) > MAX_ZIP_ENTRIES:
            raise LoragError(f"The zip holds {len(entries)} entries; an adapter needs a handful.",
                             key="adapters.zip_too_many_entries", params={"count": len(entries)})
        total = 0
        for entry in entries:
            _check_entry(entry)
            total += entry.file_size
        if total > MAX_ZIP_BYTES:
            raise LoragError(f"The zip unpacks to {total / 1e9:.1f} GB, more than the {MAX_ZIP_BYTES / 1e9:.0f} GB "
                             "allowed for an adapter.",
                             key="adapters.zip_too_large",
                             params={"size_gb": total / 1e9, "limit_gb": MAX_ZIP_BYTES / 1e9})
        configs = [e for e in entries if not e.is_dir() and Path(e.filename).name == CONFIG_FILE]
        if not configs:
            raise LoragError(f"The zip has no {CONFIG_FILE}: it is not a LoRA adapter.",
                             key="adapters.zip_no_config", params={"config": CONFIG_FILE})
        if len(configs) > 1:
            raise LoragError("The zip holds several adapters; upload one adapter per zip.", key="adapters.zip_several")
        root = str(Path(configs[0].filename).parent).replace("\\", "/")
        root = "" if root == "." else root + "/"
        for entry in entries:
            rel = entry.filename[len(root):] if entry.filename.startswith(root) else None
            if entry.is_dir() or rel is None or rel not in KEPT_FILES + ("adapter_model.bin",):
                continue
            target = inside(dest, rel)
            with archive.open(entry) as source, open(target, "wb") as out:
                shutil.copyfileobj(source, out)


def _check_entry(entry: zipfile.ZipInfo) -> None:
    name = entry.filename.replace("\\", "/")
    parts = [p for p in name.split("/") if p]
    if name.startswith("/") or (len(name) > 1 and name[1] == ":") or ".." in parts:
        raise LoragError(f"The zip entry {entry.filename!r} points outside the adapter folder; refused.",
                         key="adapters.zip_entry_outside", params={"filename": entry.filename})
    mode = (entry.external_attr >> 16) & 0o170000
    if mode == 0o120000:
        raise LoragError(f"The zip entry {entry.filename!r} is a symbolic link; refused.",
                         key="adapters.zip_entry_link", params={"filename": entry.filename})
    if entry.compress_size and entry.file_size / entry.compress_size > MAX_ZIP_RATIO and entry.file_size > 1e6:
        raise LoragError(f"The zip entry {entry.filename!r} expands suspiciously (a zip bomb?); refused.",
                         key="adapters.zip_entry_bomb", params={"filename": entry.filename})
