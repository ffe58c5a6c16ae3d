"""Weaviate's share of a backup, through its own backup-filesystem module.

The managed server writes a backup into its BACKUP_FILESYSTEM_PATH (data/weaviate/backups/<id>); the files are
moved from there into the backup folder. To restore, they are copied into the BACKUP_FILESYSTEM_PATH of the
server that restores (a fresh one over a new data folder) before asking it to restore. Every node of ours is
called node0, so a backup from one studio restores into another.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

from engine.errors import LoragError, Phrase
from engine.weaviate import WeaviateEndpoint, connect

# What Weaviate was doing, inside a message.
CREATION = Phrase("creation", "error.backup.weaviate_creation")
RESTORE = Phrase("restore", "error.backup.weaviate_restore")
NO_REASON = Phrase("no reason given", "error.backup.no_reason")

log = logging.getLogger(__name__)

FOLDER = "weaviate"


def object_counts(endpoint: WeaviateEndpoint) -> dict[str, int]:
    """Weaviate collection -> objects in it."""
    with connect(endpoint) as client:
        return {name: client.collections.use(name).aggregate.over_all(total_count=True).total_count or 0
                for name in sorted(client.collections.list_all())}


def _check(result, what: str) -> None:
    from weaviate.backup.backup import BackupStatus

    if result.status != BackupStatus.SUCCESS:
        reason = result.error or NO_REASON
        raise LoragError(f"Weaviate's {what} of backup {result.backup_id} ended {result.status.value}: {reason}.",
                         key="backup.weaviate_part_failed",
                         params={"what": what, "id": result.backup_id, "status": result.status.value, "reason": reason})


def create(endpoint: WeaviateEndpoint, backups_path: Path, backup_id: str, target: Path) -> dict[str, int]:
    """Back up every collection into target/weaviate/<id>; returns the object counts it holds ({} when Weaviate
    has no collection: nothing is written then)."""
    from weaviate.backup.backup import BackupStorage

    counts = object_counts(endpoint)
    if not counts:
        return {}
    with connect(endpoint) as client:
        _check(client.backup.create(backup_id, BackupStorage.FILESYSTEM, wait_for_completion=True), CREATION)
    written = Path(backups_path) / backup_id
    shutil.copytree(written, Path(target) / FOLDER / backup_id)
    shutil.rmtree(written)
    log.info("Weaviate backup %s: %d collection(s), %d objects", backup_id, len(counts), sum(counts.values()))
    return counts


def restore(endpoint: WeaviateEndpoint, backups_path: Path, backup_id: str, source: Path) -> dict[str, int]:
    """Restore backup <id> from source/weaviate/<id>; returns the object counts after it."""
    from weaviate.backup.backup import BackupStorage

    files = Path(source) / FOLDER / backup_id
    if not files.is_dir():
        raise LoragError(f"The backup in {source} lacks its Weaviate part ({files}).")
    staged = Path(backups_path) / backup_id
    shutil.copytree(files, staged)
    try:
        with connect(endpoint) as client:
            _check(client.backup.restore(backup_id, BackupStorage.FILESYSTEM, wait_for_completion=True), RESTORE)
    finally:
        shutil.rmtree(staged, ignore_errors=True)
    return object_counts(endpoint)
