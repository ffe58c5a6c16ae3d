"""The lines the page writes after a click (Models: loaded, unloaded, deleted, downloading; the notebook's token
line; an evaluation run's status) come in the person's language; in English they read as before."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from engine.errors import LoragError
from engine.jobs import Job
from ui.errors import person_message
from ui.tabs.models import _download
from ui.tabs.models_adapters import AdaptersSection


@pytest.fixture
def russian(monkeypatch):
    """This event's person reads Russian (what Settings or the browser would choose)."""
    monkeypatch.setattr("ui.i18n.current_language", lambda: "ru")
    monkeypatch.setattr("ui.errors.current_language", lambda: "ru")


def section(seconds: float = 0.0, removed: bool = True) -> AdaptersSection:
    adapters = SimpleNamespace(list=lambda: [], activate=lambda name: seconds, unload=lambda name: removed,
                               delete=lambda name: None)
    return AdaptersSection(SimpleNamespace(adapters=adapters))


def message(result: tuple) -> str:
    return result[-1]


def test_the_adapter_lines_in_english():
    assert message(section(0.25).on_activate("mine")) == "**mine** loaded in 0.25 s."
    assert message(section(0.0).on_activate("mine")) == "**mine** already in memory."
    assert message(section(removed=True).on_drop("mine")) == "**mine** unloaded from memory."
    assert message(section(removed=False).on_drop("mine")) == "**mine** was not in memory."
    assert message(section().on_remove("mine")) == "Deleted **mine**."


def test_the_adapter_lines_in_russian(russian):
    assert message(section(0.25).on_activate("mine")) == "**mine** загружен за 0.25 с."
    assert message(section(0.0).on_activate("mine")) == "**mine** уже в памяти."
    assert message(section(removed=True).on_drop("mine")) == "**mine** выгружен из памяти."
    assert message(section(removed=False).on_drop("mine")) == "**mine** не был в памяти."
    assert message(section().on_remove("mine")) == "Адаптер **mine** удалён."


def download_studio(final: str) -> SimpleNamespace:
    jobs = [Job("d1", "download", "Download", "running", progress=0.4, message="3 of 7 files"),
            Job("d1", "download", "Download", final)]
    return SimpleNamespace(models=SimpleNamespace(start_download=lambda hub_id, token: jobs[0]),
                           jobs=SimpleNamespace(follow=lambda job_id: iter(jobs)))


def downloaded(final: str) -> tuple[list[str], LoragError]:
    lines = []
    with pytest.raises(LoragError) as info:
        for line in _download(download_studio(final), "Qwen/Qwen3-0.6B", ""):
            lines.append(line)
    return lines, info.value


def test_a_download_that_stops_says_so_in_russian(russian):
    lines, exc = downloaded("cancelled")
    assert lines == ["Скачивание Qwen/Qwen3-0.6B: 40% 3 of 7 files (продолжится, даже если закрыть страницу)"]
    assert person_message(exc) == "Скачивание Qwen/Qwen3-0.6B не завершилось (отменено)."


def test_a_download_that_stops_in_english():
    lines, exc = downloaded("interrupted")
    assert lines == ["Downloading Qwen/Qwen3-0.6B: 40% 3 of 7 files (keeps going if you close the page)"]
    assert str(exc) == person_message(exc) == "The download of Qwen/Qwen3-0.6B did not finish (interrupted)."


def test_the_rate_limit_line_in_russian(russian):
    from engine.ratelimit import RateLimited
    from ui.errors import warn_limited

    with pytest.warns(UserWarning):  # outside an event Gradio's toast is a Python warning
        line = warn_limited(RateLimited(30, 4.2))
    assert line == ("⚠️ Слишком много запросов: не больше 30 генераций в минуту на "
                    "человека. Попробуйте снова через 5 с.")


def stats(reason: str = "length") -> SimpleNamespace:
    return SimpleNamespace(prompt_tokens=12, completion_tokens=40, tokens_per_second=8.25, finish_reason=reason)


def test_the_notebook_line_and_an_evaluation_run_in_english():
    from ui.tabs.evaluate_view import delta_text, status_html
    from ui.tabs.notebook import finish_line

    assert finish_line(stats()) == "Prompt 12 tokens · generated 40 tokens · 8.2 tok/s · reached max tokens"
    run = Job("e1", "evaluate", "Evaluation", "queued", progress=0.0, message="queued")
    assert "<br>queued · 0% · queued</p>" in status_html(run)
    assert delta_text("e0", {"base": {"f1": 0.1}}) == (
        "Compared with the earlier run e0 of this set (change in each score):\n- base: f1 +0.100")


def test_the_notebook_line_and_an_evaluation_run_in_russian(russian):
    from ui.tabs.evaluate_view import delta_text, status_html
    from ui.tabs.notebook import finish_line

    assert finish_line(stats("stopped")) == ("Промпт: 12 токенов · сгенерировано: 40 токенов · 8.2 ток/с · "
                                             "остановлено")
    run = Job("e1", "evaluate", "Evaluation", "completed", progress=1.0, message="Done.")
    assert "<br>завершено · 100% · Done.</p>" in status_html(run)
    assert delta_text("e0", {"base": {"f1": 0.1}}).startswith("Сравнение с прежним запуском e0 на этом наборе")


ANSWER_META = {"completion_tokens": 40, "tokens_per_second": 12.5, "prompt_tokens": 300, "time_to_first_token": 0.25,
               "finish_reason": "length", "adapter": None,
               "sources": [{"n": n, "filename": "report.pdf", "pages": [n], "snippet": "Growth.", "how": "matched"}
                           for n in (1, 2, 3, 4)]}


def test_an_answer_s_stats_and_sources_in_english():
    from ui.components.sources import ocr_note, panel_label, sources_message
    from ui.tabs.chat_view import stats_line

    assert stats_line(ANSWER_META) == ("40 tokens · 12.5 tok/s · prompt 300 · first token 250 ms · adapter: none · "
                                       "cut at max tokens")
    block = sources_message(ANSWER_META)
    assert block["metadata"]["title"].startswith("Sources (matched by wording; not cited): [1] report.pdf")
    assert block["metadata"]["title"].endswith(" · +1 more")
    assert block["content"].endswith("*Click here to list these sources below the chat; each one opens its text and "
                                     "page.*")
    assert panel_label("given", "the last answer") == "Passages given for the last answer (none cited)"
    assert ocr_note([3]).startswith("\n\nRead by OCR (scanned page): ")


def test_an_answer_s_stats_and_sources_in_russian(russian):
    from ui.components.sources import ocr_note, panel_label, sources_message
    from ui.i18n import say
    from ui.tabs.chat_view import stats_line

    assert stats_line(ANSWER_META) == ("токенов: 40 · 12.5 ток/с · промпт 300 · первый токен 250 мс · адаптер: нет · "
                                       "обрезано по пределу токенов")
    block = sources_message(ANSWER_META)
    assert block["metadata"]["title"].startswith("Источники (совпадение по формулировке; без ссылок): [1] report.pdf")
    assert block["metadata"]["title"].endswith(" · ещё 1")
    assert block["content"].endswith("*Нажмите здесь, чтобы показать эти источники под чатом; каждый открывает свой "
                                     "текст и страницу.*")
    assert panel_label("cited", say("chat.which_last")) == "Источники последнего ответа"
    assert panel_label("matched", say("chat.which_answer", n=2)) == "Источники ответа 2 (совпадение по формулировке)"
    assert ocr_note([3, 4]).startswith("\n\nРаспознано OCR (сканы страниц): ")


CARD = {"cell": "base + docs", "passed": True, "f1": 0.75, "answer": "Paris", "sources": [], "rank": 2, "judge": False}


def test_a_question_side_by_side_in_english_and_in_russian(monkeypatch):
    from ui.tabs.evaluate_view import side_by_side_html

    question = {"question": "Capital of France?", "answer": "Paris"}
    english = side_by_side_html(question, [CARD])
    assert "PASS · F1 0.750 · gold page at rank 2 · judge: no" in english and "<li>no sources</li>" in english
    assert "<b>Question:</b> Capital of France?<br><b>Reference:</b> Paris" in english
    monkeypatch.setattr("ui.i18n.current_language", lambda: "ru")
    russian = side_by_side_html(question, [CARD])
    assert "ВЕРНО · F1 0.750 · эталонная страница на месте 2 · судья: нет" in russian
    assert "<li>нет источников</li>" in russian
    assert "<b>Вопрос:</b> Capital of France?<br><b>Эталон:</b> Paris" in russian
    assert "class='eval-card pass'" in russian  # the page's own marker stays


def test_the_demo_model_s_notes_in_russian(russian):
    from engine.models.presets import model_presets
    from ui.tabs.models import preset_notes

    demo = next(name for name, preset in model_presets().items() if preset.demo)
    assert preset_notes(demo).startswith("**Офлайн-демомодель** — SmolLM2-135M-Instruct, *не модель Qwen*")
    other = next(name for name, preset in model_presets().items() if not preset.demo)
    assert "млрд параметров · контекст" in preset_notes(other)


def test_questions_written_from_documents_say_their_status_in_russian(russian):
    from ui.tabs.evaluate_generate import GenerateSection

    done = Job("g1", "evaluate-generate", "Questions", "completed", result={"rows": []})
    section = GenerateSection(SimpleNamespace(jobs=SimpleNamespace(get=lambda job_id: done)))
    assert section.on_poll("g1")[0] == "завершено: строк — 0. Отредактируйте их и сохраните."
    done.status, done.message = "running", "Cancelling…"
    assert section.on_poll("g1")[0] == "0% · Отменяется…"


def engine_summaries():
    from engine.evaluate.sets import EvalSet, Question
    from engine.models.state import UnloadReport
    from engine.training.preview import TokenStats

    stats = TokenStats(rows=50, min=10, median=42.4, p95=90, max=120, over_max_length=3, lose_all_trained=1,
                       tokens=2100, trained_tokens=700, sampled_from=400)
    evalset = EvalSet("abc", "qa.jsonl", [Question("q1", "Who?", "Ann")], errors=["line 3: no question"])
    return stats, UnloadReport("Qwen3", 1_500_000_000, 800_000_000), evalset


def test_the_page_s_summaries_in_english_are_the_engine_s_own():
    from engine.training.preview import TokenStats
    from ui.tabs.evaluate_view import set_summary
    from ui.tabs.models import unload_line
    from ui.tabs.training_view import stats_text

    stats, report, evalset = engine_summaries()
    assert stats_text(stats, 256) == stats.summary(256)
    assert stats_text(TokenStats(), 256) == TokenStats().summary(256)
    assert stats_text(TokenStats(rows=2, tokens=9), 256) == TokenStats(rows=2, tokens=9).summary(256)
    assert unload_line(report) == report.summary()
    assert set_summary(evalset) == evalset.summary()


def test_the_page_s_summaries_in_russian(russian):
    from ui.tabs.evaluate_view import set_summary
    from ui.tabs.models import unload_line
    from ui.tabs.training_view import stats_text

    stats, report, evalset = engine_summaries()
    assert stats_text(stats, 256) == (
        "Строк: 50 · токенов в строке: мин. 10, медиана 42, p95 90, макс. 120 · токенов: 2100, обучаемых: 700.\n"
        "Максимальная длина 256 обрезает строк: 3; из них 1 теряют все обучаемые токены и пропускаются "
        "(статистика по первым 50 из 400 строк).")
    assert unload_line(report) == "Qwen3 выгружена: освобождено 1500 МБ ОЗУ, освобождено 800 МБ памяти GPU."
    assert set_summary(evalset) == ("**qa.jsonl**: вопросов: 1, с эталонными страницами: 0.\n\n"
                                    "Пропущенные строки (1):\n- line 3: no question")


def memory_estimates():
    from engine.models.memory import MemoryEstimate

    return [MemoryEstimate(params=600_000_000, weights_bytes=1_200_000_000,
                           kv_bytes_per_1k=114_688_000, available_bytes=8_000_000_000, device="cuda"),
            MemoryEstimate(params=9_000_000_000, weights_bytes=18_000_000_000,
                           kv_bytes_per_1k=50_000_000, available_bytes=12_000_000_000, device="cpu",
                           note="A note of the engine.", vision_params=400_000_000)]


def test_the_memory_a_model_needs_in_english_is_the_engine_s_summary():
    from ui.tabs.models_memory import memory_text

    for estimate in memory_estimates():
        assert memory_text(estimate) == estimate.summary()


def test_the_memory_a_model_needs_in_russian(russian):
    from ui.tabs.models_memory import memory_text

    small, big = (memory_text(estimate) for estimate in memory_estimates())
    assert small.startswith("≈ 1.20 ГБ весов (0.60 млрд параметров) + 0.46 ГБ на контекст в 4k токенов на cuda; "
                            "сейчас свободно 8.0 ГБ — помещается. На этом устройстве: чат bf16: ≈ ")
    assert "LoRA (база bf16): ≈ " in small and "QLoRA (4-битная база): ≈ " in small
    assert "НЕ помещается: выберите 4-bit/8-bit или модель поменьше." in big
    assert "Только текст: визуальная часть (0.40 млрд параметров, 0.8 ГБ в bf16) не загружается." in big
    assert big.endswith("A note of the engine.")


@pytest.mark.parametrize("pages", [[3], [3, 4, 5], [5, 2], [2, 2], []])
def test_page_numbers_read_as_the_engine_writes_them_in_english(pages):
    from engine.rag.types import pages_label
    from ui.i18n import pages_text

    assert pages_text(pages) == pages_label(pages)


def test_page_numbers_and_the_streaming_line_in_russian(russian):
    from ui.components.sources import citations_markdown
    from ui.i18n import pages_text, say

    assert [pages_text(p) for p in ([3], [3, 4, 5], [2, 5])] == ["с. 3", "с. 3–5", "с. 2, 5"]
    assert "report.pdf, с. 4–5" in citations_markdown([{"filename": "report.pdf", "pages": [4, 5], "text": "x"}])
    assert say("chat_view.generating") == "генерация…"
