"""Settings tab: where things are, and the Weaviate server's state with a restart button."""

from __future__ import annotations

import gradio as gr

from engine.studio import Studio
from ui.errors import shows_errors
from ui.i18n import say, t
from ui.language import create_language_control
from ui.statusbar import weaviate_line
from ui.tabs.settings_backup import create_backup_panel


def _settings_table(studio: Studio) -> str:
    s = studio.settings
    weaviate = s.weaviate_url or say("settings.weaviate_off" if s.no_weaviate else "settings.weaviate_managed")
    if s.weaviate_nodes > 1 and not (s.weaviate_url or s.no_weaviate):
        weaviate = say("settings.weaviate_managed_nodes", nodes=s.weaviate_nodes)
    return say("settings.table", data=s.data_dir.resolve(), address=f"http://{s.bind_host}:{s.port}",
               login=say("settings.login_required" if (s.auth or s.auth_file) else "settings.login_none"),
               device=s.device, upload=s.max_upload_mb, weaviate=weaviate)


def _weaviate_report(studio: Studio) -> str:
    st = studio.weaviate_status()
    lines = [f"**{weaviate_line(st)}**"]
    if st.running and st.down_nodes:
        lines.append(say("settings.nodes_down", nodes=", ".join(st.down_nodes)))
    if st.error and st.log_tail:
        lines.append(say("settings.last_log_lines") + "\n```\n" + st.log_tail + "\n```")
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
            create_language_control(studio)
            gr.Markdown(lambda: _settings_table(studio))
            gr.Markdown(t("settings.weaviate_document_store"))
            report = gr.Markdown(self.on_refresh, elem_id="weaviate-report")
            with gr.Row():
                refresh = gr.Button(t("settings.refresh"), size="sm")
                restart = gr.Button(t("settings.restart_weaviate"), size="sm", variant="secondary",
                                    interactive=studio.weaviate is not None)
            refresh.click(self.on_refresh, outputs=report)
            restart.click(shows_errors(self.on_restart), outputs=report)
            create_backup_panel(studio)

    def on_refresh(self) -> str:
        return _weaviate_report(self.studio)

    def on_restart(self) -> str:
        self.studio.restart_weaviate()
        return _weaviate_report(self.studio)
