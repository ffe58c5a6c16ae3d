"""The Training tab's estimate in the person's language: in English word for word Estimate.summary() of the engine,
in Russian from the same numbers."""

from __future__ import annotations

import pytest

from engine.training.estimate import Estimate, FitLine
from engine.training.plan import TokenPlan
from ui.tabs.training_estimate_view import estimate_text

GB = 10 ** 9  # the engine's GB


def plan() -> TokenPlan:
    return TokenPlan(rows=120, eval_rows=10, steps=45, epochs=3.0, tokens=52_000, trained_tokens=9_500,
                     padded_tokens=200_000, eval_padded_tokens=5_000)


def estimates() -> list[Estimate]:
    one = [FitLine("LoRA", 6 * GB, 20 * GB), FitLine("QLoRA", 3 * GB, 20 * GB)]
    gpus = [FitLine("LoRA", 30 * GB, 24 * GB, processes=2, device="cuda")]
    cpus = [FitLine("LoRA", 5 * GB, 12 * GB, processes=3, device="cpu")]
    return [Estimate(plan()), Estimate(plan(), fit=one, device="cuda", job_id="c1"),
            Estimate(plan(), fit=gpus, device="cuda", processes_note="2 processes, 8 rows each"),
            Estimate(plan(), fit=cpus, duration_s=3725.0, source="cache", measured_at=1_700_000_000.0,
                     parts={"startup_s": 20.0, "train_s": 3600.0, "eval_s": 105.0, "save_s": 0.2}),
            Estimate(plan(), fit=one, device="cuda", duration_s=90.0, source="calibration",
                     parts={"train_s": 90.0})]


@pytest.mark.parametrize("index", range(5))
def test_the_estimate_in_english_is_the_engine_s_summary(index):
    estimate = estimates()[index]
    assert estimate_text(estimate) == estimate.summary()


def test_the_estimate_in_russian(monkeypatch):
    monkeypatch.setattr("ui.i18n.current_language", lambda: "ru")
    text = estimate_text(estimates()[3])
    assert text.startswith("**Токены:** 156,000 токенов за 45 шагов (3 эпох по 120 строк), из них обучаемых 28,500")
    assert "**Память на cpu:** LoRA ≈ 5.0 ГБ на процесс × 3 = 15.0 ГБ ОЗУ (НЕ помещается) — сейчас свободно 12.0 ГБ." \
        in text
    assert ("**Ожидаемая длительность:** ≈ 1h 02m (запуск и загрузка модели 20s + обучение 1h 00m + проверка 1m 45s); "
            "из кэша (откалибровано ") in text
    assert estimate_text(estimates()[1]).endswith("**Длительность:** калибровка: несколько настоящих шагов обучения "
                                                   "на этой машине…")
    assert "на каждом из 2 GPU (НЕ помещается) — сейчас свободно 24.0 ГБ на одном GPU." in estimate_text(estimates()[2])
