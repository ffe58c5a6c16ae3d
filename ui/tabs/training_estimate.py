"""The Training tab's "How long will it take?": an Estimate button beside Start. It shows the tokens the run trains,
whether LoRA / QLoRA fit on the device, and the duration: from the cache, or from a calibration job (a few real steps
in a worker) whose progress shows here until it ends; Cancel stops it."""

from __future__ import annotations

import time
from typing import Any, Callable

import gradio as gr

from engine.errors import LoragError
from ui.errors import job_message, status_word, warns
from ui.i18n import say, t
from ui.tabs.training_estimate_view import estimate_text

POLL_S = 1.0


class EstimateSection:
    def __init__(self, service: Any, config_of: Callable[[list[Any]], Any]) -> None:
        """`config_of(values)`: the TrainingConfig of the form's values (the tab's `_form` order)."""
        self.service, self.config_of = service, config_of

    def build(self) -> None:
        with gr.Row():
            self.button = gr.Button(t("training.estimate_button"), elem_id="training-estimate-button", scale=2)
            self.cancel = gr.Button(t("training.estimate_cancel"), visible=False, elem_id="training-estimate-cancel",
                                    scale=1)
        self.output = gr.Markdown(elem_id="training-estimate")
        self.job = gr.State("")

    def wire(self, form: list[gr.components.Component]) -> None:
        self.button.click(self.on_estimate, form, [self.output, self.cancel, self.job])
        self.cancel.click(self.on_cancel, [self.job], [self.output])

    @warns
    def on_estimate(self, *values: Any):
        config = self.config_of(list(values))
        estimator = self.service.estimator
        estimate = estimator.estimate(config)
        job_id = estimate.job_id
        yield estimate_text(estimate), gr.update(visible=bool(job_id)), job_id
        job = None
        while job_id:
            job = estimator.job(job_id)
            if not job.active:
                break
            doing = job.message or say("training.calibration_starting")
            yield (f"{estimate_text(estimate)}\n\n{doing} ({100 * (job.progress or 0):.0f}%)",
                   gr.update(), job_id)
            time.sleep(POLL_S)
        if job is not None and job.status != "completed":
            ended = say("training.calibration_ended", status=status_word(job.status), message=job_message(job))
            yield (f"{estimate_text(estimate)}\n\n{ended}",
                   gr.update(visible=False), "")
            return
        if job is not None:
            estimate = estimator.estimate(config, calibrate=False, calibrated_by=job.id)
            yield estimate_text(estimate), gr.update(visible=False), ""

    @warns
    def on_cancel(self, job_id: str):
        if not job_id:
            raise LoragError("No calibration is running.", key="training.no_calibration")
        job = self.service.estimator.cancel(job_id)
        return say("training.calibration_cancelling", status=status_word(job.status))
