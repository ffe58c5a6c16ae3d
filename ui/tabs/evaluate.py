"""Evaluate tab: "RAG or LoRA?" on the person's own questions. Upload a set, pick the matrix (adapters x
collections), run it as a job, read the table and chart, open one question side by side, export CSV / JSON.
Everything lives in the engine (data/evalsets, jobs, SQLite): a reload re-attaches to runs."""

from __future__ import annotations

import time
from typing import Any

import gradio as gr

from engine.errors import LoragError
from engine.evaluate.config import NO_DOCUMENTS, NONE_LABEL
from engine.evaluate.judge import PROMPT as JUDGE_PROMPT
from engine.studio import Studio
from ui.errors import warns
from ui.i18n import say, t
from ui.people import owner
from ui.tabs.evaluate_generate import GenerateSection
from ui.tabs.evaluate_view import (
    TABLE_HEADERS,
    chart_html,
    delta_text,
    set_summary,
    side_by_side_html,
    status_html,
    table_rows,
)

POLL_S = 1.5


def create_evaluate_tab(studio: Studio) -> None:
    with gr.Tab(t("evaluate.evaluate"), id="evaluate", elem_id="tab-evaluate"):
        _EvaluateTab(studio).build()


class _EvaluateTab:
    def __init__(self, studio: Studio) -> None:
        self.studio = studio

    def build(self) -> None:
        gr.Markdown(t("evaluate.should_you_index"))
        with gr.Row():
            self.upload = gr.File(label=t("evaluate.evaluation_set_jsonl"),
                                  file_types=[".jsonl", ".json"], type="filepath", elem_id="eval-upload")
            with gr.Column():
                self.set_pick = gr.Dropdown(label=t("evaluate.set"), choices=[], elem_id="eval-set")
                self.set_report = gr.Markdown(elem_id="eval-set-report")
                self.delete_set = gr.Button(t("evaluate.delete_this_set"), size="sm")
        with gr.Row():
            self.base = gr.Dropdown(label=t("evaluate.base_model"), choices=[], allow_custom_value=True,
                                    elem_id="eval-base")
            self.adapters = gr.CheckboxGroup(label=t("evaluate.adapters"), choices=[(t("common.none"), NONE_LABEL)],
                                             value=[NONE_LABEL],
                                             elem_id="eval-adapters")
            self.collections = gr.CheckboxGroup(label=t("evaluate.documents"), choices=[(t("evaluate.no_documents"),
                                                                                         NO_DOCUMENTS)],
                                                value=[NO_DOCUMENTS],
                                                elem_id="eval-collections")
            self.judge = gr.Dropdown(label=t("evaluate.llm_judge_or"), value="",
                                     choices=[(t("evaluate.judge_off"), ""), (t("evaluate.judge_loaded"),
                                                                              "loaded")], allow_custom_value=True,
                                     elem_id="eval-judge")
            self.max_tokens = gr.Number(label=t("evaluate.max_new_tokens"), value=64, precision=0,
                                        elem_id="eval-max-tokens")
        with gr.Accordion(t("evaluate.the_judge_s"), open=False):
            gr.Code(JUDGE_PROMPT, language=None, interactive=False)
        with gr.Row():
            self.run_button = gr.Button(t("evaluate.run_the_matrix"), variant="primary", elem_id="eval-run")
            self.cancel_button = gr.Button(t("evaluate.cancel"), elem_id="eval-cancel")
            self.resume_button = gr.Button(t("evaluate.resume"), elem_id="eval-resume")
            self.run_pick = gr.Dropdown(label=t("evaluate.run"), choices=[], elem_id="eval-run-pick", scale=3)
        self.status = gr.HTML(status_html(None), elem_id="eval-status")
        self.table = gr.Dataframe(headers=TABLE_HEADERS, interactive=False, elem_id="eval-table")
        self.chart = gr.HTML(elem_id="eval-chart")
        self.deltas = gr.Markdown(elem_id="eval-deltas")
        with gr.Row():
            self.question_pick = gr.Dropdown(label=t("evaluate.question"), choices=[], elem_id="eval-question")
            self.export_button = gr.Button(t("evaluate.export_csv_json"), elem_id="eval-export")
        self.side_by_side = gr.HTML(elem_id="eval-side-by-side")
        self.exports = gr.File(label=t("evaluate.exports"), file_count="multiple", interactive=False,
                               elem_id="eval-exports")
        self.timer = gr.Timer(POLL_S, active=False)
        self.generate = GenerateSection(self.studio)
        self.generate.build()
        self._wire()

    @property
    def _panel(self) -> list[Any]:
        return [self.status, self.table, self.chart, self.deltas, self.question_pick, self.timer]

    def _wire(self) -> None:
        self.upload.upload(self.on_upload, [self.upload], [self.set_pick, self.set_report])
        self.set_pick.input(self.on_set, [self.set_pick], [self.set_report])
        self.delete_set.click(self.on_delete_set, [self.set_pick], [self.set_pick, self.set_report])
        self.run_button.click(self.on_run, [self.set_pick, self.base, self.adapters, self.collections,
                                            self.max_tokens, self.judge], [self.run_pick]).then(
            self.on_poll, [self.run_pick], self._panel)
        self.cancel_button.click(self.on_cancel, [self.run_pick], None).then(self.on_poll, [self.run_pick],
                                                                             self._panel)
        self.resume_button.click(self.on_resume, [self.run_pick], None).then(self.on_poll, [self.run_pick],
                                                                             self._panel)
        self.run_pick.input(self.on_poll, [self.run_pick], self._panel)
        self.timer.tick(self.on_poll, [self.run_pick], self._panel, show_progress="hidden")
        self.question_pick.input(self.on_question, [self.run_pick, self.question_pick], [self.side_by_side])
        self.export_button.click(self.on_export, [self.run_pick], [self.exports])
        self.generate.saved.then(self.on_sets_changed, None, [self.set_pick, self.set_report])
        gr.on(None, self.on_open, None, [self.set_pick, self.base, self.adapters, self.collections,
                                         self.run_pick, self.generate.collection]).then(
            self.on_poll, [self.run_pick], self._panel)

    # --- choices ----------------------------------------------------------------------------------------
    def _set_choices(self, value: str | None = None) -> dict[str, Any]:
        sets = self.studio.evaluation.list_sets()
        choices = [(s.label, s.sha256) for s in sets]
        chosen = value if value in {c[1] for c in choices} else (choices[0][1] if choices else None)
        return gr.update(choices=choices, value=chosen)

    def _base_choices(self) -> dict[str, Any]:
        from engine.training.base_models import DEMO_CHOICE, base_choices

        models_dir = self.studio.settings.path("models")
        choices = [(label, str(models_dir / name)) for label, name in base_choices(models_dir) if name != DEMO_CHOICE]
        models = self.studio.started_models()
        loaded = models.current if models is not None else None
        if loaded is not None and loaded.name not in {c[1] for c in choices}:
            choices.insert(0, (say("evaluate.model_loaded_choice", name=loaded.name), loaded.name))
        return gr.update(choices=choices, value=choices[0][1] if choices else None)

    def _collection_names(self) -> list[str]:
        if self.studio.weaviate is None:
            return []
        return [c.name for c in self.studio.rag.list_collections()]

    def _run_choices(self, value: str | None = None) -> dict[str, Any]:
        runs = self.studio.evaluation.runs()
        choices = [(f"{j.title} · {time.strftime('%Y-%m-%d %H:%M', time.localtime(j.created_at))}", j.id)
                   for j in runs]
        chosen = value if value in {j.id for j in runs} else (runs[0].id if runs else None)
        return gr.update(choices=choices, value=chosen)

    # --- handlers --------------------------------------------------------------------------------------
    def on_open(self) -> tuple[Any, ...]:
        adapters = [(say("common.none"), NONE_LABEL), *self.studio.adapters.names()]
        collections = [(say("evaluate.no_documents"), NO_DOCUMENTS), *self._collection_names()]
        return (self._set_choices(), self._base_choices(), gr.update(choices=adapters),
                gr.update(choices=collections), self._run_choices(), self.generate.collection_choices())

    @warns
    def on_upload(self, path: str | None) -> tuple[Any, str]:
        if not path:
            return gr.skip(), ""
        evalset = self.studio.evaluation.upload(path)
        return self._set_choices(evalset.sha256), set_summary(evalset)

    def on_sets_changed(self) -> tuple[Any, str]:
        """The sets again, the newest chosen (one the generation section just saved) with its report."""
        choices = self._set_choices()
        return choices, self.on_set(choices["value"])

    @warns
    def on_set(self, sha256: str | None) -> str:
        return set_summary(self.studio.evaluation.sets.get(sha256)) if sha256 else ""

    @warns
    def on_delete_set(self, sha256: str | None) -> tuple[Any, str]:
        if not sha256:
            raise LoragError("Pick a set to delete.", key="evaluate.pick_set_to_delete")
        self.studio.evaluation.delete_set(sha256)
        return self._set_choices(), say("evaluate.set_deleted")

    @warns
    def on_run(self, sha256: str | None, base: str | None, adapters: list[str], collections: list[str],
               max_tokens: float | None, judge: str | None, request: gr.Request = None) -> Any:
        config = {"set": sha256 or "", "base_model": base or "",
                  "adapters": ["" if a == NONE_LABEL else a for a in adapters or [NONE_LABEL]],
                  "collections": ["" if c == NO_DOCUMENTS else c for c in collections or [NO_DOCUMENTS]],
                  "max_new_tokens": int(max_tokens or 64), "judge": (judge or "").strip()}
        job = self.studio.evaluation.start(config, owner=owner(self.studio, request))
        return self._run_choices(job.id)

    @warns
    def on_cancel(self, run_id: str | None) -> None:
        if run_id:
            self.studio.evaluation.cancel(run_id)

    @warns
    def on_resume(self, run_id: str | None) -> None:
        if not run_id:
            raise LoragError("Pick a run to resume.", key="evaluate.pick_run_to_resume")
        self.studio.evaluation.resume(run_id)

    @warns
    def on_poll(self, run_id: str | None) -> tuple[Any, ...]:
        if not run_id:
            return status_html(None), [], "", "", gr.update(choices=[]), gr.Timer(active=False)
        results = self.studio.evaluation.results(run_id)
        questions = [(f"{q.id}: {q.question[:60]}", q.id) for q in results.evalset.questions]
        return (status_html(results.job), table_rows(results.rows), chart_html(results.rows),
                delta_text(results.compared_with, results.deltas), gr.update(choices=questions),
                gr.Timer(active=results.job.active))

    @warns
    def on_question(self, run_id: str | None, question_id: str | None) -> str:
        if not run_id or not question_id:
            return ""
        results = self.studio.evaluation.results(run_id)
        question = next(q for q in results.evalset.questions if q.id == question_id)
        return side_by_side_html(question.to_dict(), results.question(question_id))

    @warns
    def on_export(self, run_id: str | None) -> list[str]:
        if not run_id:
            raise LoragError("Pick a run to export.", key="evaluate.pick_run_to_export")
        results = self.studio.evaluation.results(run_id)
        folder = self.studio.jobs.folder(run_id)
        csv_path, json_path = folder / "results.csv", folder / "results.json"
        csv_path.write_text(results.csv(), encoding="utf-8")
        json_path.write_text(results.json(), encoding="utf-8")
        return [str(csv_path), str(json_path)]
