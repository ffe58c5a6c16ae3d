"""Settings › Backup: back the data folder up while the studio runs, and offer the backup as a .zip.

Restoring stays on the command line (`python launch.py restore DIR --data-dir NEW`): it needs a studio that is
not running on the folder it fills. With logins on, the panel only says how to back up on the machine: a
backup holds every person's chats and documents, which no one signed-in person may download.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import gradio as gr

from engine.studio import Studio
from ui.errors import shows_errors
from ui.i18n import say, t


def create_backup_panel(studio: Studio) -> None:
    """The backup controls, inside the Settings tab."""
    gr.Markdown(t("backup.heading"))
    if studio.access.login_required:
        gr.Markdown(t("backup.logins_on"))
        return
    panel = _BackupPanel(studio)
    gr.Markdown(t("backup.what"))
    with gr.Row():
        folder = gr.Textbox(label=t("backup.folder"), placeholder=str(panel.default_folder()),
                            elem_id="backup-folder", scale=4)
        start = gr.Button(t("backup.start"), variant="secondary", elem_id="backup-start", scale=1)
    report = gr.Markdown(elem_id="backup-report")
    made = gr.State("")
    zipped = gr.Button(t("backup.zip"), size="sm", visible=False, elem_id="backup-zip")
    archive = gr.File(label=t("backup.archive"), visible=False, interactive=False, elem_id="backup-file")
    start.click(shows_errors(panel.on_backup), inputs=folder, outputs=[report, made, zipped, archive])
    zipped.click(shows_errors(panel.on_zip), inputs=made, outputs=archive)


class _BackupPanel:
    def __init__(self, studio: Studio) -> None:
        self.studio = studio

    def default_folder(self) -> Path:
        return self.studio.settings.path("backups", time.strftime("lorag-%Y%m%d-%H%M%S"))

    def on_backup(self, folder: str) -> list[Any]:
        target = Path(folder.strip()).expanduser() if folder and folder.strip() else self.default_folder()
        manifest = self.studio.backup(target)
        text = say("backup.written", folder=target.resolve(), created=manifest.created_at, summary=manifest.summary())
        return [text, str(target.resolve()), gr.update(visible=True), gr.update(value=None, visible=False)]

    def on_zip(self, made: str) -> dict[str, Any]:
        folder = Path(made)
        # Gradio serves files from its temp folder: the archive goes there, not beside the backup.
        base = Path(tempfile.mkdtemp(prefix="lorag-backup-")) / folder.name
        return gr.update(value=shutil.make_archive(str(base), "zip", folder), visible=True)
