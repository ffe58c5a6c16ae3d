"""Settings tab: where things are, and the Weaviate server's state with a restart button."""

from __future__ import annotations

import gradio as gr

from engine.studio import Studio
from ui.errors import shows_errors
from ui.i18n import t


def _settings_table(studio: Studio) -> str:
    s = studio.settings
    rows = [
        ("Data folder", str(s.data_dir.resolve())),
        ("Address", f"http://{s.bind_host}:{s.port}"),
        ("Login", "required" if (s.auth or s.auth_file) else "none (local only)"),
        ("Device", s.device),
        ("Upload limit", f"{s.max_upload_mb} MB"),
        ("Weaviate", s.weaviate_url or ("off" if s.no_weaviate else "managed by Lorag (data/weaviate)")),
    ]
    return "| Setting | Value |\n|---|---|\n" + "\n".join(f"| {k} | `{v}` |" for k, v in rows)


def _weaviate_report(studio: Studio) -> str:
    st = studio.weaviate_status()
    lines = [f"**{st.summary()}**"]
    if st.error and st.log_tail:
        lines.append("Last log lines:\n```\n" + st.log_tail + "\n```")
    return "\n\n".join(lines)


def create_settings_tab(studio: Studio) -> None:
    _SettingsTab(studio).build()


class _SettingsTab:
    def __init__(self, studio: Studio) -> None:
        self.studio = studio

    def build(self) -> None:
        studio = self.studio
        with gr.Tab(t("settings.settings"), id="settings", elem_id="tab-settings"):
            gr.Markdown(t("settings.settings_the_studio"))
            gr.Markdown(_settings_table(studio))
            gr.Markdown(t("settings.weaviate_document_store"))
            report = gr.Markdown(self.on_refresh, elem_id="weaviate-report")
            with gr.Row():
                refresh = gr.Button(t("settings.refresh"), size="sm")
                restart = gr.Button(t("settings.restart_weaviate"), size="sm", variant="secondary",
                                    interactive=studio.weaviate is not None)
            refresh.click(self.on_refresh, outputs=report)
            restart.click(shows_errors(self.on_restart), outputs=report)

    def on_refresh(self) -> str:
        return _weaviate_report(self.studio)

    def on_restart(self) -> str:
        self.studio.restart_weaviate()
        return _weaviate_report(self.studio)
