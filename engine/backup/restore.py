"""Restore a backup folder into a data folder, with no studio running on it.

The data folder must hold nothing a restore replaces (models/ and backups/ may be there: backups leave them
out), unless `force`: then everything else in it is removed first. A fresh
managed Weaviate starts over the data folder, gets the backup's Weaviate files in its BACKUP_FILESYSTEM_PATH,
restores them and stops. The result is checked against the manifest's counts.
"""

from __future__ import annotations

import logging
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from engine.backup import files, weaviate_part
from engine.backup.jobspecs import repoint_training_jobs
from engine.backup.manifest import SQLITE, Manifest, copied_folders
from engine.errors import LoragError
from engine.settings import Settings
from engine.store import Store
from engine.weaviate.server import ManagedWeaviate

log = logging.getLogger(__name__)

KEPT = ("models", "backups")  # what --force leaves in the data folder (a backup holds neither)


@dataclass
class RestoreReport:
    manifest: Manifest
    rows: dict[str, int] = field(default_factory=dict)
    weaviate_objects: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    def summary(self) -> str:
        return f"Restored in {self.seconds:.1f} s: {self.manifest.summary()} (backup of {self.manifest.created_at})."


def _holds_data(data_dir: Path) -> list[str]:
    """What in the data folder a restore would replace (empty folders do not count)."""
    if not data_dir.exists():
        return []
    return sorted(p.name for p in data_dir.iterdir()
                  if p.name not in KEPT and (p.is_file() or any(q.is_file() for q in p.rglob("*"))))


def check_data_dir(settings: Settings, force: bool) -> None:
    data_dir = Path(settings.data_dir)
    server = ManagedWeaviate(settings.path("weaviate"))
    if server.other_server_pid() is not None:
        raise LoragError(f"A studio is running on {data_dir} (its Weaviate server is up).",
                         hint="Stop it first: a restore replaces what it is using.")
    held = _holds_data(data_dir)
    if held and not force:
        raise LoragError(f"The data folder {data_dir} is not empty (it holds {', '.join(held)}).",
                         hint="Restore into a new or empty folder (--data-dir), or add --force to replace everything "
                              "in it but models/ and backups/.")
    for path in sorted(data_dir.iterdir()) if force and data_dir.exists() else ():
        if path.name in KEPT:
            continue
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()


def _check_settings(manifest: Manifest, settings: Settings) -> None:
    if manifest.weaviate_backup_id and (settings.no_weaviate or settings.weaviate_url):
        raise LoragError("This backup holds documents, which restore into the Weaviate server Lorag manages.",
                         hint="Restore without --no-weaviate and --weaviate-url.")


def restore_backup(source: Path, settings: Settings, force: bool = False) -> RestoreReport:
    source = Path(source).resolve()
    manifest = Manifest.read(source)
    _check_settings(manifest, settings)
    check_data_dir(settings, force)
    started = time.monotonic()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    files.copy_sqlite(source / SQLITE, settings.path(SQLITE))
    Store(settings.path(SQLITE)).close()  # an older schema is migrated now, a newer one refused
    for name in copied_folders(source):
        files.copy_folder(source / name, settings.path(name))
    repoint_training_jobs(settings.data_dir)
    report = RestoreReport(manifest, rows=files.row_counts(settings.path(SQLITE))[1])
    if manifest.weaviate_backup_id:
        report.weaviate_objects = _restore_weaviate(settings, source, manifest.weaviate_backup_id)
    report.seconds = time.monotonic() - started
    _compare(report)
    log.info("%s", report.summary())
    return report


def _restore_weaviate(settings: Settings, source: Path, backup_id: str) -> dict[str, int]:
    server = ManagedWeaviate(settings.path("weaviate"), binary=settings.weaviate_binary,
                             timeout=settings.weaviate_timeout, api_key=settings.weaviate_api_key)
    server.start()
    try:
        return weaviate_part.restore(server.endpoint, server.backups_path, backup_id, source)
    finally:
        server.stop()


def _compare(report: RestoreReport) -> None:
    manifest = report.manifest
    rows = {t: n for t, n in report.rows.items() if t in manifest.rows}
    if rows != manifest.rows or report.weaviate_objects != manifest.weaviate_objects:
        raise LoragError(f"The restored data does not match the backup's manifest: rows {rows} (expected "
                         f"{manifest.rows}), Weaviate objects {report.weaviate_objects} (expected "
                         f"{manifest.weaviate_objects}).")
