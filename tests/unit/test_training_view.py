"""The Training tab's HTML pieces: the loss curve, the marked preview, the placeholder field."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from engine.errors import LoragError
from engine.jobs import Job
from engine.training.preview import Analysis, PreviewRow, Segment, TokenStats
from ui.errors import status_word
from ui.tabs.training import _TrainingTab, parse_placeholders, suggest_adapter_name
from ui.tabs.training_view import job_rows, loss_curve_svg, place_label, preview_html, progress_html


def test_loss_curve_has_one_point_per_logged_value():
    svg = loss_curve_svg([(1, 2.5), (2, 2.0), (3, 1.2)], [(3, 1.5)])
    assert "data-train-points='3'" in svg and "data-eval-points='1'" in svg
    assert svg.count("class='train-point'") == 3 and svg.count("class='eval-point'") == 1
    assert "<polyline" in svg and "eval loss" in svg
    assert "data-train-points='0'" in loss_curve_svg([], [])
    long = loss_curve_svg([(i, 1 / i) for i in range(1, 5001)], [])
    assert "data-train-points='5000'" in long and "train-point" not in long.split("data-eval")[1]
    assert len(long) < 40_000  # drawn from a thinned series, not 5000 markers
    flat = loss_curve_svg([(1, 11.9391), (2, 11.9390)], [])
    assert flat.count("11.939") >= 2  # ticks stay readable on a nearly flat curve


def test_preview_marks_trained_tokens_and_escapes_html():
    row = PreviewRow(3, 5, 2, [Segment("<|im_start|>user\n<b>hi</b>", False), Segment("yes<|im_end|>", True),
                               Segment("cut", False, cut=True)])
    html = preview_html(Analysis("note", TokenStats(), [row]))
    assert "<mark class='lorag-trained'" in html and "&lt;b&gt;hi&lt;/b&gt;" in html and "<s " in html
    assert "Line 3" in html


def test_placeholder_field():
    assert parse_placeholders("name=Lorag, author = Me\n{{team}}=X") == {"name": "Lorag", "author": "Me",
                                                                      "team": "X"}
    assert parse_placeholders("") == {}
    with pytest.raises(LoragError, match="no '='"):
        parse_placeholders("Lorag")


def test_adapter_name_suggestion_is_a_valid_name():
    from engine.safety import validate_name

    for filename, expected in (("identity.json", "identity-lora"), ("my data (v2).jsonl", "my-data-v2-lora"),
                               ("...json", "adapter-lora")):
        assert suggest_adapter_name(filename) == expected
        validate_name(expected)


@pytest.fixture
def russian(monkeypatch):
    """This event's person reads Russian (what Settings or the browser would choose)."""
    monkeypatch.setattr("ui.i18n.current_language", lambda: "ru")
    monkeypatch.setattr("ui.errors.current_language", lambda: "ru")


def preference_preview() -> str:
    row = PreviewRow(3, 5, 2, [Segment("prompt", False), Segment("yes", True)], rejected=[Segment("no", True)])
    return preview_html(Analysis("note", TokenStats(), [row]))


def test_the_preview_legend_and_rows_in_english():
    html = preference_preview()
    assert "green: trained (the loss is computed on these tokens)" in html and "plain: context only" in html
    assert "red: the rejected answer, made less likely" in html and "struck through: cut by the max length" in html
    assert "<b>Line 3</b> · 5 tokens, 2 trained" in html
    assert "<div>chosen:</div>" in html and "<div>rejected (after the same prompt):</div>" in html
    assert place_label(12, 3) == "Row 3 (line 12)" and place_label(0, 3) == "Row 3"


def test_the_preview_legend_and_rows_in_russian(russian):
    html = preference_preview()
    assert "зелёный: обучаемые (потери считаются по этим токенам)" in html and "без выделения: только контекст" in html
    assert "красный: отклонённый ответ, его вероятность снижается" in html
    assert "<b>Строка 3</b> · токенов: 5, обучаемых: 2" in html
    assert "<div>выбранный ответ:</div>" in html and "<div>отклонённый ответ (после того же промпта):</div>" in html
    assert "green" not in html and "chosen:" not in html
    assert place_label(12, 3) == "Запись 3 (строка 12)"


def running_view(status: str = "running") -> SimpleNamespace:
    job = Job("j1", "training", "Training", status, progress=0.5, message="Step 5/10", created_at=1.0)
    return SimpleNamespace(job=job, adapter_name="mine", base="Qwen/Qwen3-0.6B", tokens_per_s=120.0, eta="1m 5s",
                           state={"step": 5, "max_steps": 10, "device": "cuda:0"}, checkpoint="checkpoint-4")


def test_the_job_box_and_the_jobs_table_in_english():
    html = progress_html(running_view())
    assert ("<b>mine</b> on Qwen/Qwen3-0.6B · <span style='color:#2563eb;font-weight:600'>running</span> · "
            "step 5/10 · 120 tokens/s · ETA 1m 5s · cuda:0 · last checkpoint: checkpoint-4") in html
    assert job_rows([running_view("failed")])["data"][0][2] == "failed"


def test_the_job_box_and_the_jobs_table_in_russian(russian):
    html = progress_html(running_view())
    assert ("<b>mine</b> на Qwen/Qwen3-0.6B · <span style='color:#2563eb;font-weight:600'>выполняется</span> · "
            "шаг 5/10 · 120 токенов/с · осталось 1m 5s · cuda:0 · последний чекпойнт: checkpoint-4") in html
    assert "data-status='running'" in html  # the page's own marker stays the engine's value
    table = job_rows([running_view(status) for status in ("queued", "completed", "failed", "interrupted",
                                                          "cancelled", "cancelling")])
    assert [row[2] for row in table["data"]] == ["в очереди", "завершено", "не удалось", "прервано", "отменено",
                                                 "отменяется"]
    assert table["headers"][2] == "Статус"


class FakeService:
    def cancel(self, job_id):
        return Job(job_id, "training", "Training", "cancelled", message="Cancelled.")

    def resume(self, job_id):
        return Job(job_id, "training", "Training", "queued", message="Queued.")


def test_cancelling_a_job_says_so_in_the_person_s_language(russian):
    tab = SimpleNamespace(service=FakeService())
    assert _TrainingTab.on_cancel(tab, "j1") == "Задача j1: Отменено."
    assert status_word("cancelled") == "отменено" and status_word("something new") == "something new"


def test_a_training_job_line_in_english():
    assert _TrainingTab.on_cancel(SimpleNamespace(service=FakeService()), "j1") == "Job j1: Cancelled."
    assert _TrainingTab.on_resume(SimpleNamespace(service=FakeService()), "j1") == "Job j1: Queued."


def test_the_loss_curve_s_legend_in_russian(russian):
    svg = loss_curve_svg([(1, 2.5), (2, 2.0)], [(2, 2.2)])
    assert "● потери (обучение)" in svg and "● потери (проверка)" in svg and "(x: шаг)" in svg
    assert "<title>шаг 1: 2.5000</title>" in svg and "aria-label='кривая: потери'" in svg
    assert "train loss" not in svg


class StartingService:
    def start(self, config, on_busy):
        return Job("j9", "training", "Training", "queued")

    def device_check(self, config):
        from engine.errors import Phrase
        from engine.training.service import DeviceCheck

        return DeviceCheck("cuda", None, False, Phrase("Training on the GPU.", "training.device.gpu"))

    def list_jobs(self):
        return []


def started_line(mode: str) -> str:
    tab = SimpleNamespace(_config=lambda values, custom: "config", service=StartingService())
    return _TrainingTab.on_start(tab, mode)("custom")[0]


def test_starting_a_job_says_so_in_english():
    assert started_line("ask") == "Started job j9. Training on the GPU."
    assert started_line("wait") == "Started job j9. Started (wait)."


def test_starting_a_job_says_so_in_russian(russian):
    assert started_line("ask") == "Задача j9 запущена. Обучение на GPU."
    assert started_line("cpu") == "Задача j9 запущена. Запущено (на CPU)."
