"""Make a backup of a data folder while the studio runs.

What it guarantees: document writes (ingestion jobs, creating or deleting collections and documents) are paused
for the whole backup (engine.writes), and a backup refuses to start while an ingestion job runs. Under that
pause it copies SQLite with its online backup API, then Weaviate through its backup-filesystem module, then
every other folder but models/ (uploads, datasets, adapters, jobs, evaluation sets, recipes): collections,
documents, their Weaviate objects and their stored files agree. Chats, training and evaluation go on meanwhile:
their SQLite rows are as of the copy, and a file a training job writes after it (a checkpoint, a finished
adapter) may be in the folders while its job row says running (a restored studio finds that worker gone and
marks the job failed or interrupted, as after a crash).
"""

from __future__ import annotations

import logging
import secrets
import shutil
import time
from pathlib import Path

from engine.backup import files, weaviate_part
from engine.backup.manifest import SQLITE, Manifest, copied_folders
from engine.errors import LoragError, Phrase
from engine.settings import Settings
from engine.store import Store
from engine.weaviate.cluster import ManagedCluster
from engine.weaviate.server import WEAVIATE_VERSION, ManagedWeaviate
from engine.writes import WriteLock

log = logging.getLogger(__name__)

CONSISTENCY = ("Document writes were paused for the whole backup (no ingestion job ran); SQLite (online backup "
               "API), then Weaviate (backup-filesystem), then the folders were copied under that pause. Chats and "
               "training went on: their rows are as of the SQLite copy.")
WAIT_FOR_WRITERS_S = 15.0


def new_backup_id() -> str:
    """Weaviate wants lower case letters, digits, '-' and '_'."""
    return f"lorag-{time.strftime('%Y%m%d-%H%M%S', time.gmtime())}-{secrets.token_hex(3)}"


def check_target(target: Path, data_dir: Path) -> Path:
    """The backup folder: new or empty, and in the data folder only under backups/ (the rest is backed up)."""
    target, data_dir = Path(target).resolve(), Path(data_dir).resolve()
    if target.is_relative_to(data_dir) and not target.is_relative_to(data_dir / "backups"):
        raise LoragError(f"A backup cannot go into {target}: the data folder is what is backed up.",
                         hint=f"Use a folder outside the data folder, or one in {data_dir / 'backups'}.",
                         key="backup.target_inside", hint_key="backup.target_inside_hint",
                         params={"target": target, "backups": data_dir / 'backups'})
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise LoragError(f"The backup folder {target} exists and is not empty.", hint="Give a new folder.",
                         key="backup.target_not_empty", hint_key="backup.target_not_empty_hint",
                         params={"target": target})
    target.mkdir(parents=True, exist_ok=True)
    return target


def _busy(store: Store) -> str:
    rows = store.all("SELECT title FROM jobs WHERE kind = 'ingest' AND status IN ('queued', 'running', 'cancelling')")
    if rows:
        titles = "; ".join(r["title"] for r in rows)
        return Phrase(f"A backup cannot start while documents are being indexed ({titles}).",
                      "error.backup.indexing_now", {"titles": titles})
    return Phrase("A backup cannot start: documents are being changed right now.", "error.backup.writing_now")


def _weaviate_server(weaviate) -> ManagedWeaviate | None:
    """The managed server to back up (None: the studio runs without Weaviate)."""
    if weaviate is None:
        return None
    if not weaviate.managed:
        raise LoragError("Backups cover the Weaviate server that Lorag manages; this studio uses an external one "
                         "(--weaviate-url).", hint="Back that server up with its own backup module.",
                         key="backup.external_weaviate", hint_key="backup.external_weaviate_hint")
    if isinstance(weaviate, ManagedCluster):
        raise LoragError("Backups of a Weaviate cluster (--weaviate-nodes above 1) are not supported yet.",
                         hint="Back up a studio with one Weaviate node, or copy the stopped data folder.",
                         key="backup.weaviate_cluster", hint_key="backup.weaviate_cluster_hint")
    if weaviate.ports is None or not (weaviate.running or weaviate.other_server_pid()):
        raise LoragError("The Weaviate server is not running, so its documents cannot be backed up.",
                         hint="Start or restart it (Settings tab), then back up.",
                         key="backup.weaviate_down", hint_key="backup.weaviate_down_hint")
    return weaviate


def create_backup(settings: Settings, store: Store, weaviate, writes: WriteLock, target: Path) -> Manifest:
    """Back up the data folder of `settings` into `target` (new or empty); returns the manifest written there."""
    server = _weaviate_server(weaviate)
    collections = store.one("SELECT COUNT(*) AS n FROM collections")["n"]
    if server is None and collections:
        raise LoragError(f"This data folder has {collections} collection(s) whose documents live in Weaviate, "
                         "which is turned off (--no-weaviate): a backup now would lose them.",
                         hint="Back up without --no-weaviate.",
                         key="backup.weaviate_off", hint_key="backup.weaviate_off_hint",
                         params={"collections": collections})
    target = check_target(target, settings.data_dir)
    try:
        return _write_backup(settings, store, server, writes, target)
    except BaseException:
        shutil.rmtree(target, ignore_errors=True)  # it was new or empty: no half backup is left to mistake
        raise


def _write_backup(settings: Settings, store: Store, server: ManagedWeaviate | None, writes: WriteLock,
                  target: Path) -> Manifest:
    started = time.monotonic()
    with writes.exclusive(WAIT_FOR_WRITERS_S, busy=lambda: _busy(store)):
        files.copy_sqlite(settings.path(SQLITE), target / SQLITE)
        backup_id, counts = "", {}
        if server is not None:
            backup_id = new_backup_id()
            counts = weaviate_part.create(server.endpoint, server.backups_path, backup_id, target)
        folders = {name: files.copy_folder(settings.path(name), target / name)
                   for name in copied_folders(settings.data_dir)}
    schema, rows = files.row_counts(target / SQLITE)
    manifest = Manifest(created_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), schema_version=schema,
                        rows=rows, weaviate_backup_id=backup_id if counts else "",
                        weaviate_version=WEAVIATE_VERSION if counts else "", weaviate_objects=counts,
                        folders=folders, consistency=CONSISTENCY)
    manifest.write(target)
    log.info("backup written to %s in %.1f s: %s", target, time.monotonic() - started, manifest.summary())
    return manifest
