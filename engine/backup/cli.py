"""`launch.py backup DIR` and `launch.py restore DIR [--force]`, with the studio's own flags (--data-dir ...).

A backup works beside a running studio: it talks to the Weaviate server that studio started (never starting a
second one on the same folder) and shares the data folder's write lock with it. Without a running studio it
starts the managed server for the backup and stops it after.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Sequence

from engine.errors import LoragError
from engine.settings import Settings, load_settings

COMMANDS = ("backup", "restore")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="launch.py backup|restore",
        description="backup DIR: copy the data folder (chats, jobs, documents and their Weaviate data, adapters, "
                    "datasets, uploads, evaluation sets, recipes; not models/) into the new folder DIR, also while "
                    "the studio runs. "
                    "restore DIR: put such a backup into the data folder, which must be empty (or --force); no "
                    "studio may run on it. Any studio flag (--data-dir, --weaviate-binary ...) applies.")
    parser.add_argument("command", choices=COMMANDS)
    parser.add_argument("folder", type=Path, help="The backup folder.")
    parser.add_argument("--force", action="store_true",
                        help="restore only: replace what the data folder holds (models/ and backups/ stay).")
    return parser


def backup(settings: Settings, target: Path):
    """Back up the data folder of `settings`, whether or not a studio runs on it."""
    from engine.studio import Studio
    from engine.weaviate.server import ManagedWeaviate

    if not settings.path("lorag.sqlite").is_file():
        raise LoragError(f"There is no Lorag data folder at {settings.data_dir} (no lorag.sqlite).")
    studio = Studio(settings)  # not started: a running studio's jobs are its own business
    server, started = studio.weaviate, False
    try:
        if isinstance(server, ManagedWeaviate) and not server.attach():
            if server.other_server_pid() is not None:
                raise LoragError("The studio running on this data folder has a Weaviate server that does not "
                                 "answer.", hint="Restart Weaviate from its Settings tab, then back up.")
            server.start()
            started = True
        return studio.backup(target)
    finally:
        if started:
            server.stop()
        studio.store.close()


def run(argv: Sequence[str]) -> int:
    """The exit status: 0 done, 2 refused (the reason on stderr)."""
    from engine.backup.restore import restore_backup

    args, rest = _parser().parse_known_args(list(argv))
    try:
        if args.force and args.command != "restore":
            raise LoragError("--force is for restore only.")
        settings = load_settings(rest)
        logging.basicConfig(level=settings.log_level.upper(),
                            format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        if args.command == "backup":
            manifest = backup(settings, args.folder)
            print(f"Backup written to {args.folder.resolve()}: {manifest.summary()}", flush=True)
        else:
            report = restore_backup(args.folder, settings, force=args.force)
            print(f"{report.summary()} Data folder: {settings.data_dir.resolve()}", flush=True)
    except LoragError as exc:
        print(f"lorag: {exc}", file=sys.stderr)
        return 2
    return 0
