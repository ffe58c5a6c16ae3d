"""The Evaluate tab's "Data from documents" part: the loaded model writes question/answer rows from a
collection's chunks (a job), the person edits them in the table, then saves an evaluation set, a training
dataset, or a train/held-out split of both."""

from __future__ import annotations

from typing import Any

import gradio as gr

from engine.errors import LoragError
from engine.studio import Studio
from ui.errors import job_message, status_word, warns
from ui.i18n import say, t
from ui.people import owner

HEADERS = ["question", "answer", "file", "pages"]
MODES = [("evaluate_generate.mode_eval", "eval"), ("evaluate_generate.mode_training", "training"),
         ("evaluate_generate.mode_split", "split")]
POLL_S = 2.0


class GenerateSection:
    def __init__(self, studio: Studio) -> None:
        self.studio = studio

    def build(self) -> None:
        with gr.Accordion(t("evaluate_generate.data_from_documents"), open=False,
                          elem_id="eval-generate"):
            with gr.Row():
                self.collection = gr.Dropdown(label=t("evaluate_generate.collection"), choices=[],
                                              elem_id="eval-gen-collection")
                self.per_chunk = gr.Number(label=t("evaluate_generate.questions_per_chunk"), value=1, precision=0)
                self.max_chunks = gr.Number(label=t("evaluate_generate.chunks_at_most"), value=20, precision=0)
                self.start = gr.Button(t("evaluate_generate.write_questions_with"), elem_id="eval-gen-start")
            self.job = gr.State(None)
            self.status = gr.Markdown(elem_id="eval-gen-status")
            self.rows = gr.Dataframe(headers=HEADERS, interactive=True, elem_id="eval-gen-rows")
            with gr.Row():
                self.name = gr.Textbox(label=t("evaluate_generate.name"), value="generated")
                self.mode = gr.Radio([(t(key), mode) for key, mode in MODES], value="eval",
                                     label=t("evaluate_generate.save_as"))
                self.holdout = gr.Slider(0.05, 0.95, value=0.2, step=0.05, label=t("evaluate_generate.held_out_part"))
                self.save = gr.Button(t("evaluate_generate.save"), elem_id="eval-gen-save")
            self.timer = gr.Timer(POLL_S, active=False)
        self.start.click(self.on_start, [self.collection, self.per_chunk, self.max_chunks],
                         [self.job, self.status, self.timer])
        self.timer.tick(self.on_poll, [self.job], [self.status, self.rows, self.timer], show_progress="hidden")
        # The tab chains on this event: a set saved here is offered in its "Set" list at once.
        self.saved = self.save.click(self.on_save, [self.rows, self.name, self.mode, self.holdout], [self.status])

    def collection_choices(self) -> dict[str, Any]:
        names = [c.name for c in self.studio.rag.list_collections()] if self.studio.weaviate is not None else []
        return gr.update(choices=names, value=names[0] if names else None)

    @warns
    def on_start(self, collection: str | None, per_chunk: float, max_chunks: float,
                 request: gr.Request = None) -> tuple[Any, str, Any]:
        if not collection:
            raise LoragError("Pick a collection to write questions from.", key="evaluate.pick_collection_for_questions")
        job = self.studio.evaluation.start_generation(collection, int(per_chunk or 1), int(max_chunks or 20),
                                                      owner=owner(self.studio, request))
        return job.id, say("evaluate_generate.writing"), gr.Timer(active=True)

    def on_poll(self, job_id: str | None) -> tuple[str, Any, Any]:
        if not job_id:
            return "", gr.skip(), gr.Timer(active=False)
        job = self.studio.jobs.get(job_id)
        if job.active:
            return f"{job.progress:.0%} · {job_message(job)}", gr.skip(), gr.Timer(active=True)
        rows = [[r["question"], r["answer"], r["file"], ",".join(str(p) for p in r["pages"])]
                for r in job.result.get("rows", [])]
        ready = say("evaluate_generate.rows_ready", status=status_word(job.status), rows=len(rows))
        return ready, rows, gr.Timer(active=False)

    @warns
    def on_save(self, table: Any, name: str, mode: str, holdout: float) -> str:
        values = table.values.tolist() if hasattr(table, "values") else list(table or [])
        rows = [{"id": f"gen{i}", "question": str(q), "answer": str(a), "file": str(f),
                 "pages": [int(p) for p in str(pages).split(",") if p.strip().isdigit()]}
                for i, (q, a, f, pages) in enumerate(values, 1)]
        saved = self.studio.evaluation.save_generated(rows, name, mode, float(holdout))
        return say("evaluate_generate.saved", what=", ".join(f"{kind} {sha[:8]}" for kind, sha in saved.items()))
