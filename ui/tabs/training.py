"""Training tab: upload a JSONL dataset, see it through the base model's template, fill the form, run and watch a
LoRA fine-tune. All state lives in the engine (data/datasets, data/jobs, SQLite): a reload re-attaches to jobs."""

from __future__ import annotations

import json
import re
from dataclasses import fields
from typing import Any

import gradio as gr

from engine.errors import LoragError, Phrase
from engine.fields import kind_of
from engine.studio import Studio
from engine.training.config import IN_CONFIG, IN_FORM, RECIPE_FIELDS, TrainingConfig
from ui.errors import job_message, person_message, said, shows_errors, status_word, warns
from ui.i18n import headers, say, t
from ui.tabs.training_dataset_view import dataset_text, lora_plan_text
from ui.tabs.training_estimate import EstimateSection
from ui.tabs.training_view import (
    JOB_HEADERS,
    batch_note,
    curves_html,
    job_rows,
    loss_curve_svg,
    preview_html,
    progress_html,
    stats_text,
)

POLL_S = 2.0
IDLE_POLL_S = 15.0
LOG_LINES = 14
IN_RECIPE_FILE = Phrase("the recipe file", "training.in_recipe_file")  # where a loaded file's error is
CONFIG_FIELDS = {f.name: f for f in fields(TrainingConfig)}
FORM_FIELDS = tuple(CONFIG_FIELDS)
# Where the settings sit; a setting not named here shows up in the Advanced section by itself.
MAIN_ROWS = (("lora_rank", "lora_alpha", "lora_dropout", "target_modules"),
             ("learning_rate", "epochs", "max_steps", "batch_size", "grad_accum", "processes"),
             ("max_length", "validation_split", "seed", "save_steps"),
             ("packing", "assistant_only", "quantization"),
             ("method", "beta", "loss_type"))
ADVANCED_ROWS = (("warmup_ratio", "lr_scheduler", "weight_decay", "logging_steps", "eval_steps"),
                 ("device", "cpu_threads", "gradient_checkpointing", "distributed"))
BATCH_FIELDS = ("batch_size", "processes", "grad_accum", "distributed")


def parse_placeholders(text: str) -> dict[str, str]:
    """'name=Lorag, author=Me' -> {'name': 'Lorag', 'author': 'Me'}."""
    out = {}
    for part in (text or "").replace("\n", ",").split(","):
        if not part.strip():
            continue
        if "=" not in part:
            raise LoragError(f"Placeholder values look like name=Lorag, author=Me; {part.strip()!r} has no '='.",
                             key="training.placeholder_no_equals", params={"part": repr(part.strip())})
        key, value = part.split("=", 1)
        out[key.strip().strip("{}").strip()] = value.strip()
    return out


def suggest_adapter_name(filename: str) -> str:
    """identity.json -> identity-lora (a valid adapter name the person can change)."""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", filename.rsplit(".", 1)[0]).strip("-._")[:50] or "adapter"
    return f"{stem}-lora"


def create_training_tab(studio: Studio) -> None:
    with gr.Tab(t("training.training"), id="training", elem_id="tab-training"):
        _TrainingTab(studio).build()


class _TrainingTab:
    def __init__(self, studio: Studio) -> None:
        self.studio = studio
        self.f: dict[str, gr.components.Component] = {}

    @property
    def service(self):
        return self.studio.training

    # --- layout ------------------------------------------------------------------------------------------------
    def build(self) -> None:
        gr.Markdown(t("training.fine_tune_a"))
        self._dataset_section()
        self._settings_section()
        self._start_section()
        self._jobs_section()
        self._wire_dataset()
        self._wire_config()
        self._wire_jobs()
        gr.api(self.api_start, api_name="training_start")
        gr.api(self.api_job, api_name="training_job")

    def _dataset_section(self) -> None:
        """1. the dataset, 2. the base model, and how the one looks through the other's template."""
        with gr.Row():
            with gr.Column(scale=1):
                self.upload = gr.File(label=t("training.1_upload_a"), file_types=[".jsonl", ".json"],
                                      file_count="multiple",
                                      type="filepath", elem_id="training-upload")
                self.f["dataset"] = gr.Dropdown(label=t("training.or_pick_an"), choices=[], value=None,
                                                elem_id="training-dataset")
                self.f["drop_bad_rows"] = gr.Checkbox(label=t("training.drop_bad_rows"), value=True)
                self.f["placeholders"] = gr.Textbox(label=t("training.fill_placeholders"),
                                                    placeholder=t("training.name_lorag_author"),
                                                    info=t("training.values_for_name"))
            with gr.Column(scale=1):
                self.f["base_model"] = gr.Dropdown(label=t("training.2_base_model"), choices=[], value=None,
                                                   elem_id="training-base")
                self.base_custom = gr.Textbox(label=t("training.or_a_hub"), placeholder=t("training.qwen_qwen3_0"),
                                              elem_id="training-base-custom")
                self.preview_button = gr.Button(t("training.preview"), size="sm")
        self.report = gr.Markdown(elem_id="training-report")
        self.stats = gr.Markdown(elem_id="training-stats")
        self.preview = gr.HTML(elem_id="training-preview-box")

    def _settings_section(self) -> None:
        """3. the recipe and every field of the training config, each with its help text."""
        gr.Markdown(t("training.3_settings"))
        with gr.Row():
            recipes = self.service.recipes.names()
            self.f["recipe"] = gr.Dropdown(label=t("training.recipe"), choices=recipes,
                                           value="balanced" if "balanced" in recipes
                                           else None, elem_id="training-recipe")
            self.recipe_info = gr.Markdown()
            self.f["adapter_name"] = gr.Textbox(label=t("training.adapter_name"), placeholder=t("training.my_adapter"),
                                                elem_id="training-adapter-name")
        self.defaults = self.service.default_config()
        self._rows(MAIN_ROWS)
        self.batch_note = gr.Markdown(elem_id="training-global-batch")
        with gr.Accordion(t("training.advanced"), open=False):
            placed = {name for row in ADVANCED_ROWS for name in row}
            self._rows(ADVANCED_ROWS + (tuple(n for n in FORM_FIELDS if n not in self.f and n not in placed),))

    def _rows(self, rows: tuple[tuple[str, ...], ...]) -> None:
        for names in rows:
            if names:
                with gr.Row():
                    for name in names:
                        self.f[name] = self._setting(name)

    def _setting(self, name: str) -> gr.components.Component:
        """The input for one config field, from its type, label, help text and choices."""
        f = CONFIG_FIELDS[name]
        common = {"label": t(f"field.training.{name}.label"), "value": getattr(self.defaults, name),
                  "info": t(f"field.training.{name}.info"), "elem_id": f"training-{name}"}
        choices = list(f.metadata.get("choices") or [])
        if choices:
            return (gr.Radio if len(choices) <= 4 else gr.Dropdown)(choices, **common)
        kind = kind_of(f)
        if kind == "bool":
            return gr.Checkbox(**common)
        if kind in ("int", "float"):
            return gr.Number(precision=0 if kind == "int" else None, **common)
        return gr.Textbox(**common)

    def _start_section(self) -> None:
        """Start, show or save the config, load a recipe; the choices offered when the GPU is busy."""
        with gr.Row():
            self.start_button = gr.Button(t("training.start_training"), variant="primary", elem_id="training-start")
            self.show_button = gr.Button(t("training.show_config"), elem_id="training-show-config")
            self.recipe_name = gr.Textbox(label=t("training.save_these_settings"), placeholder=t("training.my_recipe"),
                                          scale=1)
            self.save_button = gr.Button(t("training.save_recipe"))
            self.recipe_file = gr.File(label=t("training.load_a_recipe"), file_types=[".yaml", ".yml"], type="filepath")
        self.estimate = EstimateSection(self.service, lambda values: self._config(values[:-1], values[-1]))
        self.estimate.build()
        self.device_note = gr.Markdown(elem_id="training-device-note")
        with gr.Row(visible=False, elem_id="training-gpu-busy") as self.busy_row:
            self.unload_button = gr.Button(t("training.unload_the_chat"))
            self.wait_button = gr.Button(t("training.start_when_the"))
            self.cpu_button = gr.Button(t("training.train_on_the"))
        self.config_code = gr.Code(label=t("training.the_exact_config"), language="yaml", visible=False,
                                   elem_id="training-config")

    def _jobs_section(self) -> None:
        gr.Markdown(t("training.jobs"))
        self.jobs_table = gr.Dataframe(headers=headers(JOB_HEADERS), value=[], interactive=False,
                                       elem_id="training-jobs")
        with gr.Row():
            self.job_pick = gr.Dropdown(label=t("training.job"), choices=[], value=None, elem_id="training-job-pick",
                                        scale=3)
            self.cancel_button = gr.Button(t("training.cancel_saves_a"), elem_id="training-cancel", scale=1)
            self.resume_button = gr.Button(t("training.resume_from_the"), elem_id="training-resume", scale=1)
        self.job_status = gr.HTML(progress_html(None), elem_id="training-job-status-box")
        self.curve = gr.HTML(elem_id="training-curve-box")
        self.log_tail = gr.Textbox(label=t("training.log_last_lines"), lines=LOG_LINES, max_lines=LOG_LINES + 2,
                                   interactive=False, elem_id="training-log")
        self.timer = gr.Timer(IDLE_POLL_S)

    # --- wiring --------------------------------------------------------------------------------------------
    @property
    def _form(self) -> list[gr.components.Component]:
        """The config's fields in FORM_FIELDS order, then the custom base (handlers take them as *values)."""
        return [*(self.f[name] for name in FORM_FIELDS), self.base_custom]

    @property
    def _panel(self) -> list[gr.components.Component]:
        """What on_poll fills."""
        return [self.jobs_table, self.job_pick, self.job_status, self.curve, self.log_tail, self.timer]

    @property
    def _recipe_outputs(self) -> list[gr.components.Component]:
        return [self.f[name] for name in RECIPE_FIELDS] + [self.recipe_info]

    def _wire_dataset(self) -> None:
        """Upload or pick a dataset; any change re-analyses it against the base model."""
        analysis_inputs = [self.f["dataset"], self.f["base_model"], self.base_custom, self.f["max_length"],
                           self.f["assistant_only"], self.f["placeholders"]]
        analysis_outputs = [self.report, self.stats, self.preview]
        self.upload.upload(self.on_upload, [self.upload, self.f["adapter_name"]],
                           [self.f["dataset"], self.report, self.f["adapter_name"]]).then(
            self.on_analyze, analysis_inputs, analysis_outputs)
        for trigger in (self.f["dataset"].input, self.f["base_model"].input, self.base_custom.submit,
                        self.f["assistant_only"].input, self.f["max_length"].submit, self.f["placeholders"].submit,
                        self.preview_button.click):
            trigger(self.on_analyze, analysis_inputs, analysis_outputs)

    def _wire_config(self) -> None:
        """Recipes, show config, and the four ways to start (ask, or the answer to a busy GPU)."""
        self.f["recipe"].input(self.on_recipe, [self.f["recipe"]], self._recipe_outputs)
        gr.on(None, batch_note, [self.f[name] for name in BATCH_FIELDS], [self.batch_note], show_progress="hidden")
        self.estimate.wire(self._form)
        self.show_button.click(self.on_show, self._form, [self.config_code, self.device_note])
        self.save_button.click(self.on_save_recipe, [self.recipe_name, *self._form], [self.device_note,
                                                                                      self.f["recipe"]])
        self.recipe_file.upload(self.on_load_recipe, [self.recipe_file], self._recipe_outputs)
        starts = ((self.start_button, "ask"), (self.unload_button, "unload"), (self.wait_button, "wait"),
                  (self.cpu_button, "cpu"))
        for button, mode in starts:
            button.click(self.on_start(mode), self._form, [self.device_note, self.busy_row, self.job_pick]).then(
                self.on_poll, [self.job_pick], self._panel)

    def _wire_jobs(self) -> None:
        """Pick, cancel, resume, poll; on page load fill the choices from disk (a reload sees new uploads, jobs)."""
        self.job_pick.input(self.on_poll, [self.job_pick], self._panel)
        self.cancel_button.click(self.on_cancel, [self.job_pick], [self.device_note]).then(
            self.on_poll, [self.job_pick], self._panel)
        self.resume_button.click(self.on_resume, [self.job_pick], [self.device_note]).then(
            self.on_poll, [self.job_pick], self._panel)
        self.timer.tick(self.on_poll, [self.job_pick], self._panel, show_progress="hidden")
        gr.on(None, self.on_open, None, [self.f["dataset"], self.f["base_model"], self.f["recipe"],
                                         self.recipe_info]).then(self.on_poll, [self.job_pick], self._panel)

    # --- handlers ----------------------------------------------------------------------------------------------
    def _dataset_choices(self) -> list[tuple[str, str]]:
        examples = self.service.example_datasets()
        shas = {d.sha256 for d in examples}
        return [(say("training.example", name=d.filename), d.sha256) for d in examples] + [
            (d.label, d.sha256) for d in self.service.stored_datasets() if d.sha256 not in shas]

    @shows_errors
    def on_open(self):
        bases = self.service.base_choices()
        recipes = self.service.recipes.names()
        _, description = self.service.recipes.load("balanced") if "balanced" in recipes else ({}, "")
        return (gr.update(choices=self._dataset_choices()), gr.update(choices=bases, value=bases[0][1] if bases
                                                                      else None),
                gr.update(choices=recipes), description)

    @warns
    def on_upload(self, paths: list[str] | str | None, adapter_name: str):
        if not paths:
            return gr.update(), "", gr.update()
        stored, text = self.service.upload_files([paths] if isinstance(paths, str) else paths)
        if stored is None:
            return gr.update(), text, gr.update()
        suggestion = gr.update() if (adapter_name or "").strip() else suggest_adapter_name(stored.filename)
        return gr.update(choices=self._dataset_choices(), value=stored.sha256), text, suggestion

    @warns
    def on_analyze(self, sha: str | None, base: str | None, custom: str, max_length: Any, assistant_only: bool,
                   placeholders: str):
        if not sha:
            return say("training.pick_dataset"), "", preview_html(None)
        values = parse_placeholders(placeholders)
        base_choice = (custom or "").strip() or base
        if not base_choice:
            return dataset_text(self.service.inspect(sha, values)) + "\n\n" + say("training.pick_base"), "", \
                preview_html(None)
        length = int(max_length or 1024)
        report, analysis = self.service.analyze(sha, base_choice, length, bool(assistant_only), values)
        text = dataset_text(report)
        if analysis.error_count:
            text += (f"\n\n{say('training.rows_not_trainable', count=analysis.error_count)}:\n"
                     + "\n".join(f"- {said(e)}" for e in analysis.errors))
        return text, stats_text(analysis.stats, length), preview_html(analysis)

    @warns
    def on_recipe(self, name: str):
        values, description = self.service.recipes.load(name)
        config = self.service.default_config(name)
        return [getattr(config, field) for field in RECIPE_FIELDS] + [description]

    @warns
    def on_load_recipe(self, path: str | None):
        if not path:
            return [gr.update() for _ in RECIPE_FIELDS] + [""]
        with open(path, encoding="utf-8") as fh:
            values, description = self.service.recipes.parse(fh.read(), IN_RECIPE_FILE)
        config = self.service.default_config().merged({**values, "recipe": "loaded"})
        return [getattr(config, field) for field in RECIPE_FIELDS] + [description or say("training.loaded_from_file")]

    def _config(self, values: list[Any], custom: str):
        data = dict(zip(FORM_FIELDS, values, strict=True))
        data["placeholders"] = parse_placeholders(data.get("placeholders") or "")
        data["base_model"] = (custom or "").strip() or data.get("base_model") or ""
        data["dataset"] = data.get("dataset") or ""
        data["adapter_name"] = (data.get("adapter_name") or "").strip()
        data["recipe"] = data.get("recipe") or ""
        for key, value in list(data.items()):
            if value is None:
                data.pop(key)
        return TrainingConfig.from_dict(data, IN_FORM).validate()

    @warns
    def on_show(self, *values):
        config = self._config(list(values[:-1]), values[-1])
        try:  # what LoRA reaches on the base and the memory it needs
            plan = f"**{lora_plan_text(self.service.lora_plan(config))}**"
        except LoragError as exc:
            plan = str(exc)
        return gr.update(value=config.to_yaml(), visible=True), plan

    @warns
    def on_save_recipe(self, name: str, *values):
        config = self._config(list(values[:-1]), values[-1])
        path = self.service.recipes.save(name, config)
        return say("training.recipe_saved", name=path.stem, path=path), gr.update(choices=self.service.recipes.names(),
                                                                         value=path.stem)

    def on_start(self, mode: str):
        @warns
        def start(*values):
            from engine.training.service import GpuBusy

            config = self._config(list(values[:-1]), values[-1])
            try:
                job = self.service.start(config, on_busy=mode)
            except GpuBusy as exc:
                return f"⚠️ {person_message(exc)}", gr.update(visible=True), gr.update()
            note = said(self.service.device_check(config).message) if mode == "ask" else say(f"training.started_{mode}")
            choices = [(f"{j.title} · {j.id}", j.id) for j in self.service.list_jobs()]
            started = say("training.started_job", job=job.id, note=note)
            return started, gr.update(visible=False), gr.update(choices=choices, value=job.id)
        return start

    @warns
    def on_cancel(self, job_id: str | None):
        if not job_id:
            raise LoragError("Pick a job first.", key="training.pick_job")
        job = self.service.cancel(job_id)
        return say("training.job_line", job=job.id, message=job_message(job) or status_word(job.status))

    @warns
    def on_resume(self, job_id: str | None):
        if not job_id:
            raise LoragError("Pick a job first.", key="training.pick_job")
        job = self.service.resume(job_id)
        return say("training.job_line", job=job.id, message=job_message(job))

    @warns
    def on_poll(self, job_id: str | None):
        views = self.service.job_views()
        choices = [(f"{v.job.title} · {v.job.id}", v.job.id) for v in views]
        ids = [v.job.id for v in views]
        if job_id not in ids:
            active = [v.job.id for v in views if v.job.active]
            job_id = active[0] if active else (ids[0] if ids else None)
        table = job_rows(views)
        # Poll fast while a job runs, slowly otherwise (a job started elsewhere still shows up).
        timer = gr.Timer(POLL_S if any(v.job.active for v in views) else IDLE_POLL_S)
        if job_id is None:
            return (table, gr.update(choices=choices, value=None), progress_html(None), loss_curve_svg([], []), "",
                    timer)
        view = self.service.view(job_id, log_lines=LOG_LINES)
        return (table, gr.update(choices=choices, value=job_id), progress_html(view), curves_html(view),
                view.log_tail, timer)

    # --- API for scripts (gradio_client) -------------------------------------------------------------------------
    def api_start(self, config_yaml: str, on_busy: str = "ask") -> str:
        """Start a training job from the YAML that "Show config" displays; returns the job id."""
        try:
            return self.service.start(TrainingConfig.from_yaml(config_yaml, IN_CONFIG), on_busy=on_busy).id
        except LoragError as exc:
            raise gr.Error(str(exc)) from None   # the API keeps English

    def api_job(self, job_id: str) -> str:
        """A training job as JSON: status, progress, state, loss history, log tail."""
        try:
            return json.dumps(self.service.view(job_id).as_dict(), default=str)
        except LoragError as exc:
            raise gr.Error(str(exc)) from None   # the API keeps English
