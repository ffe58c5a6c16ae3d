"""The refusals a person reads come in their language: each LoragError with a message key has that key in every
catalogue, the English catalogue says exactly what the engine says (the API keeps the engine's English), and the
page renders the Russian text from the real error's parameters."""

from __future__ import annotations

import ast
import json
from dataclasses import asdict
from pathlib import Path

import pytest

from engine.adapters.files import incompatibility
from engine.adapters.meta import AdapterMeta, BaseFingerprint
from engine.errors import LoragError, Phrase
from engine.models.generation import GenerationParams
from engine.models.loading import resolve_source
from engine.rag.filecheck import check_file
from engine.safety import ADAPTER_NAME, MODEL_NAME, validate_name
from engine.settings import Settings
from engine.studio import Studio
from engine.training.config import IN_FORM, TrainingConfig
from engine.training.datasets import DatasetStore, load_dataset, read_records
from engine.training.service import GPU_BUSY
from ui.errors import job_message, person_message
from ui.i18n import LANGUAGES, catalogue
from ui.tabs.documents_info import file_error

ROOT = Path(__file__).resolve().parents[2]
BIG = 50 * 1024 * 1024


# Modules only a command line reaches: their refusals are printed in English. (A restore runs from launch.py only,
# and only a restore reads a backup's manifest.)
CLI_ONLY = {"engine/backup/cli.py", "engine/evaluate/__main__.py", "engine/backup/restore.py",
            "engine/backup/manifest.py"}
# The LoragErrors outside CLI_ONLY still without a message key (the page shows their English text): lower it as
# messages get keys, never raise it.
UNKEYED_CEILING = 3


def engine_calls(name: str, packages: tuple[str, ...] = ("engine",)):
    """(path, call) for each call of `name` in engine/ (or the packages named)."""
    for path in sorted(p for package in packages for p in (ROOT / package).rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", "") == name:
                yield path.relative_to(ROOT).as_posix(), node


def keyword(call: ast.Call, name: str) -> ast.expr | None:
    return next((kw.value for kw in call.keywords if kw.arg == name), None)


def keys_in_engine() -> set[str]:
    keys = set()
    for _, node in engine_calls("LoragError"):
        keys |= {kw.value.value for kw in node.keywords
                 if kw.arg in ("key", "hint_key") and isinstance(kw.value, ast.Constant)}
    return keys


def phrase_keys_in_engine() -> set[str]:
    return {node.args[1].value for _, node in engine_calls("Phrase")
            if len(node.args) > 1 and isinstance(node.args[1], ast.Constant)}


def test_every_message_key_of_the_engine_is_in_every_catalogue():
    keys = keys_in_engine()
    assert len(keys) >= 200
    phrases = phrase_keys_in_engine()
    assert len(phrases) >= 30
    for language in LANGUAGES:
        assert sorted(k for k in keys if f"error.{k}" not in catalogue(language)) == [], language
        assert sorted(k for k in phrases if k not in catalogue(language)) == [], language


def template(node: ast.expr, params: dict[str, ast.expr]) -> str | None:
    """The catalogue text that a message written in code says: its f-string with each value named by the param
    that holds the same expression (None where the code builds the text some other way)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value.replace("{", "{{").replace("}", "}}")
    if not isinstance(node, ast.JoinedStr):
        return None
    named = {ast.dump(value): name for name, value in params.items()}
    out = []
    for part in node.values:
        if isinstance(part, ast.Constant):
            out.append(part.value.replace("{", "{{").replace("}", "}}"))
            continue
        conversion = "" if part.conversion == -1 else "!" + chr(part.conversion)
        name = named.get(ast.dump(part.value))
        if name is None and conversion == "!r":  # the param holds repr(value) already
            name, conversion = named.get(ast.dump(ast.Call(ast.Name("repr", ast.Load()), [part.value], []))), ""
        if name is None:
            return None
        spec = "" if part.format_spec is None else ":" + "".join(v.value for v in part.format_spec.values)
        out.append("{" + name + conversion + spec + "}")
    return "".join(out)


def params_of(node: ast.expr | None) -> dict[str, ast.expr]:
    if not isinstance(node, ast.Dict):
        return {}
    return {k.value: v for k, v in zip(node.keys, node.values, strict=True) if isinstance(k, ast.Constant)}


def written_texts() -> list[tuple[str, str, str]]:
    """(where, catalogue key, text as the code writes it) for each keyed message, hint and Phrase of the engine."""
    out = []
    for path, call in engine_calls("LoragError"):
        params = params_of(keyword(call, "params"))
        hint = call.args[1] if len(call.args) > 1 else keyword(call, "hint")
        for key_node, text_node in ((keyword(call, "key"), call.args[0]), (keyword(call, "hint_key"), hint)):
            if key_node is not None and text_node is not None:
                out.append((f"{path}:{call.lineno}", f"error.{key_node.value}", template(text_node, params)))
    for path, call in engine_calls("Phrase"):
        if len(call.args) > 1 and isinstance(call.args[1], ast.Constant):
            params = params_of(call.args[2] if len(call.args) > 2 else None)
            out.append((f"{path}:{call.lineno}", call.args[1].value, template(call.args[0], params)))
    return out


def test_the_english_catalogue_says_word_for_word_what_the_code_writes():
    texts = written_texts()
    english = catalogue("en")
    checked = [(where, key, text) for where, key, text in texts if text is not None]
    assert len(checked) >= 250
    assert [(where, key) for where, key, text in checked if english[key] != text] == []


def unkeyed() -> list[str]:
    return [f"{path}:{call.lineno}" for path, call in engine_calls("LoragError")
            if path not in CLI_ONLY and keyword(call, "key") is None]


def test_no_new_refusal_reaches_the_page_without_a_message_key():
    left = unkeyed()
    assert len(left) <= UNKEYED_CEILING, (f"{len(left)} LoragErrors have no key= (the page shows them in English "
                                          f"only); give the new ones a key and a text in ui/locales:", left)


def test_every_refusal_the_page_itself_raises_has_a_message_key_in_every_catalogue():
    """ui/ raises LoragErrors of its own ("Pick a job first."): each has a key, in both catalogues, and the English
    catalogue says word for word what the code writes."""
    calls = list(engine_calls("LoragError", ("ui",)))
    assert len(calls) >= 20
    assert [f"{path}:{call.lineno}" for path, call in calls if keyword(call, "key") is None] == []
    for language in LANGUAGES:
        assert [key for _, call in calls if f"error.{(key := keyword(call, 'key').value)}"
                not in catalogue(language)] == [], language
    english = catalogue("en")
    for path, call in calls:
        text = template(call.args[0], params_of(keyword(call, "params")))
        assert text is not None and english[f"error.{keyword(call, 'key').value}"] == text, f"{path}:{call.lineno}"


def raised(call, *args) -> LoragError:
    with pytest.raises(LoragError) as info:
        call(*args)
    return info.value


def dataset_errors(tmp_path: Path) -> list[LoragError]:
    files = {"empty.jsonl": "", "broken.json": '[{"text": "a"},', "prose.jsonl": "hello\nworld\n",
             "table.csv": "a,b\n", "odd.jsonl": json.dumps({"question": "q", "answer": "a"}) + "\n",
             "info.json": json.dumps({"alpaca": {"file_name": "a.json", "columns": {"prompt": "instruction"}}}),
             "lists.json": json.dumps({"train": [{"text": "a"}], "test": [{"text": "b"}]}), "number.json": "42"}
    errors = []
    for name, content in files.items():
        (tmp_path / name).write_text(content)
        errors.append(raised(load_dataset, tmp_path / name, name, BIG))
    (tmp_path / "latin.jsonl").write_bytes('{"text": "caf\xe9"}\n'.encode("latin-1"))
    errors.append(raised(read_records, tmp_path / "latin.jsonl", "latin.jsonl", BIG))
    errors.append(raised(read_records, tmp_path / "odd.jsonl", "odd.jsonl", 10))
    errors.append(raised(DatasetStore(tmp_path / "datasets", BIG).get, "0" * 64))
    return errors


def test_the_english_catalogue_says_what_the_engine_says_and_russian_is_rendered_from_the_same_facts(tmp_path):
    errors = dataset_errors(tmp_path)
    assert all(exc.key for exc in errors), [str(exc) for exc in errors if not exc.key]
    ru = catalogue("ru")
    for exc in errors:
        assert person_message(exc, "en") == str(exc)
        russian = person_message(exc, "ru")
        assert russian.startswith(ru[f"error.{exc.key}"].format(**exc.params)), exc.key
        assert russian != str(exc)


def test_a_message_without_a_key_stays_as_the_engine_wrote_it():
    exc = LoragError("Something only the engine knows.", hint="Try again.")
    assert person_message(exc, "ru") == "Something only the engine knows. Try again."


def test_a_refusal_from_the_documents_store_in_russian(tmp_path):
    studio = Studio(Settings(data_dir=tmp_path / "data", no_weaviate=True))
    exc = raised(studio.rag.collection, "nowhere")
    assert str(exc) == "There is no collection 'nowhere'. Create it in the Documents tab."
    assert person_message(exc, "ru") == "Коллекции 'nowhere' нет. Создайте её во вкладке «Документы»."


def in_both_languages(exc: LoragError) -> str:
    """The Russian message, after checking the English one is the engine's own text."""
    assert exc.key, str(exc)
    assert person_message(exc, "en") == str(exc)
    return person_message(exc, "ru")


def test_a_folder_that_is_not_a_model_is_refused_in_russian(tmp_path):
    (tmp_path / "notes").mkdir()
    exc = raised(resolve_source, str(tmp_path / "notes"), tmp_path / "models")
    assert in_both_languages(exc) == (f"{tmp_path / 'notes'} — не папка модели (в ней нет config.json). "
                                      "Выберите папку, в которой лежат config.json и файлы .safetensors.")


def test_a_text_file_named_pdf_is_refused_in_russian_with_what_it_really_is(tmp_path):
    path = tmp_path / "report.pdf"
    path.write_text("Quarterly numbers, typed as plain text.\n")
    exc = raised(check_file, path.name, path.stat().st_size, path.read_bytes(), BIG)
    assert str(exc).startswith("report.pdf: the name says PDF but the content is text.")
    assert in_both_languages(exc) == ("report.pdf: по имени это PDF, а по содержимому — текст. "
                                      "Проверьте, тот ли это файл, или исправьте его расширение.")


def test_an_adapter_folder_without_its_config_is_refused_in_russian(tmp_path):
    studio = Studio(Settings(data_dir=tmp_path / "data", no_weaviate=True))
    (tmp_path / "my-lora").mkdir()
    (tmp_path / "my-lora" / "adapter_model.safetensors").write_bytes(b"\0" * 16)
    exc = raised(studio.adapters.import_folder, tmp_path / "my-lora", "mine")
    assert in_both_languages(exc) == "my-lora — не адаптер LoRA: в нём нет adapter_config.json."


def test_a_training_config_with_several_problems_is_listed_in_russian():
    config = TrainingConfig(learning_rate=-1.0, epochs=0, max_steps=0, target_modules=" ")
    exc = raised(config.validate)
    assert "learning rate" in str(exc) and "set epochs or max steps" in str(exc)
    russian = in_both_languages(exc)
    assert russian.startswith("Настройки обучения нужно исправить: значение «Скорость обучения» должно быть")
    assert "задайте число эпох или максимум шагов; укажите целевые модули (или all-linear)." in russian
    assert "must" not in russian


def test_a_setting_the_form_does_not_know_names_the_form_in_russian():
    exc = raised(TrainingConfig.from_dict, {"learning_rat": 1e-4}, IN_FORM)
    assert str(exc) == "Unknown setting(s) in the form: learning_rat."
    assert in_both_languages(exc) == "Неизвестные настройки (форма): learning_rat."


def test_a_name_refusal_says_what_the_name_names_in_russian():
    exc = raised(validate_name, "  ", ADAPTER_NAME)
    assert str(exc) == "The adapter name is empty."
    assert in_both_languages(exc) == "Не указано: имя адаптера."


def test_a_file_refused_at_upload_is_shown_in_the_job_table_in_russian(tmp_path):
    studio = Studio(Settings(data_dir=tmp_path / "data", no_weaviate=True))
    path = tmp_path / "scan.pdf"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 64)
    task = json.loads(json.dumps(asdict(studio.rag.ingestion._prepare(("scan.pdf", path)))))
    assert task["status"] == "failed"
    assert file_error(task, "en") == task["error"]
    assert file_error(task, "ru") == ("scan.pdf: по имени это PDF, а по содержимому — изображение PNG. "
                                      "Проверьте, тот ли это файл, или исправьте его расширение.")
    assert file_error({"error": "Written before error facts existed."}, "ru") == "Written before error facts existed."


def test_stored_error_facts_say_the_same_as_the_error_itself():
    exc = raised(TrainingConfig(learning_rate=-1.0, epochs=0, max_steps=0).validate)
    stored = LoragError.from_facts(str(exc), json.loads(json.dumps(exc.facts())))
    assert person_message(stored, "en") == str(exc)
    assert person_message(stored, "ru") == person_message(exc, "ru")


def test_a_generation_setting_out_of_range_is_refused_in_russian():
    exc = raised(lambda: GenerationParams(top_p=2.0))
    assert str(exc) == "Generation setting: top_p must be in (0, 1]."
    assert in_both_languages(exc) == "Настройка генерации: top_p должно быть в промежутке (0, 1]."


def test_the_gpu_conflict_says_in_english_what_the_training_service_says():
    english = catalogue("en")
    said = GPU_BUSY.format(chat="cuda:0")
    assert english["error.training.gpu_busy"].format(chat="cuda:0") == said
    calibrating = f"Calibrating needs the GPU, but {said[0].lower()}{said[1:]}"
    assert english["error.training.calibration_gpu_busy"].format(chat="cuda:0") == calibrating


def test_an_adapter_made_for_another_base_says_why_in_russian(tmp_path):
    made_for = BaseFingerprint("Qwen/Qwen3-0.6B", "Qwen3ForCausalLM", 1024, 28, 151936)
    loaded = BaseFingerprint("Qwen/Qwen3-1.7B", "Qwen3ForCausalLM", 2048, 28, 151936)
    problem = incompatibility(AdapterMeta("tiny-lora", base=made_for), tmp_path, loaded)
    assert problem.startswith("The adapter 'tiny-lora' was made for Qwen/Qwen3-0.6B (Qwen3ForCausalLM, hidden size")
    exc = LoragError(problem, key="adapters.incompatible", params={"problem": problem})
    assert in_both_languages(exc) == (
        "Адаптер «tiny-lora» сделан для Qwen/Qwen3-0.6B (Qwen3ForCausalLM, скрытый размер 1024, словарь 151936), "
        "а не для загруженной модели Qwen/Qwen3-1.7B: hidden_size у загруженной модели — 2048, а адаптеру нужно 1024.")


def test_a_phrase_the_catalogue_lacks_is_said_as_the_engine_wrote_it():
    looks = Phrase("a GIF image", "error.documents.looks_gif")
    exc = LoragError(f"x.pdf: the name says PDF but the content is {looks}.", key="documents.not_pdf",
                     params={"filename": "x.pdf", "looks": looks})
    assert person_message(exc, "ru") == "x.pdf: по имени это PDF, а по содержимому — a GIF image."


def test_a_job_that_failed_with_a_refusal_says_it_in_russian(tmp_path):
    studio = Studio(Settings(data_dir=tmp_path / "data", no_weaviate=True))
    job = studio.jobs.create("merge", "Merge nothing")
    studio.jobs.run_in_thread(job, lambda ctx: validate_name("", MODEL_NAME))
    failed = studio.jobs.wait(job.id, timeout=30)
    assert failed.status == "failed" and failed.message == "The model name is empty."
    assert job_message(failed, "en") == failed.message
    assert job_message(failed, "ru") == "Не указано: имя модели."


def test_the_page_s_own_refusals_in_russian_and_in_english():
    from ui.tabs.documents import _DocumentsTab as DocumentsTab
    from ui.tabs.models_adapters import AdaptersSection
    from ui.tabs.training import parse_placeholders

    assert person_message(raised(parse_placeholders, "name=Lorag, oops"), "ru") == (
        "Значения подстановок пишутся так: name=Lorag, author=Me; в 'oops' нет «=».")
    assert person_message(raised(parse_placeholders, "name=Lorag, oops"), "en") == (
        "Placeholder values look like name=Lorag, author=Me; 'oops' has no '='.")
    assert person_message(raised(DocumentsTab._need, None), "ru") == "Сначала создайте или выберите коллекцию."
    assert person_message(raised(AdaptersSection.need, ""), "ru") == "Сначала выберите адаптер."
    assert person_message(raised(AdaptersSection.need, ""), "en") == "Choose an adapter first."


def test_a_download_that_did_not_finish_says_its_status_in_russian():
    from ui.errors import status_phrase

    exc = LoragError("The download of Qwen/Qwen3-0.6B did not finish (cancelled).", key="models.download_unfinished",
                     params={"hub_id": "Qwen/Qwen3-0.6B", "status": status_phrase("cancelled")})
    assert person_message(exc, "ru") == "Скачивание Qwen/Qwen3-0.6B не завершилось (отменено)."
    assert person_message(exc, "en") == "The download of Qwen/Qwen3-0.6B did not finish (cancelled)."


def test_the_rate_limit_is_said_in_russian_and_the_api_keeps_its_english():
    from engine.ratelimit import RateLimited

    exc = RateLimited(30, 4.2)
    assert str(exc) == "Too many requests: the limit is 30 generations per minute per person. Try again in 5 s."
    assert person_message(exc, "ru") == ("Слишком много запросов: не больше 30 генераций в минуту на человека. "
                                         "Попробуйте снова через 5 с.")


def test_a_job_s_fixed_lines_are_said_in_russian_and_are_the_engine_s_own():
    from engine.jobs import Job
    from ui.errors import JOB_MESSAGES

    source = "".join(path.read_text() for path in (ROOT / "engine").rglob("*.py"))
    for english, key in JOB_MESSAGES.items():
        assert f'"{english}"' in source and catalogue("en")[f"job.message.{key}"] == english, english
    interrupted = Job("j1", "training", "Training", "interrupted",
                      message="The studio stopped while this job ran. Start it again to resume.")
    assert job_message(interrupted, "ru") == ("Студия остановилась, пока шла эта задача. Запустите её снова, "
                                              "чтобы продолжить.")
    assert job_message(interrupted, "en") == interrupted.message
    resuming = Job("j2", "training", "Training", "queued", message="Resuming from checkpoint-4…")
    assert job_message(resuming, "ru") == "Resuming from checkpoint-4…"  # a line the catalogue does not know
