"""Settings: defaults < YAML < LORAG_* env < flags, with messages a person can act on."""

import subprocess
import sys
from pathlib import Path

import pytest

from engine.errors import LoragError
from engine.settings import Settings, build_parser, load_settings

ROOT = Path(__file__).resolve().parents[2]


def test_defaults_are_safe():
    s = load_settings([], env={})
    assert s.host == "127.0.0.1" and s.port == 7860
    assert s.bind_host == "127.0.0.1"
    assert not s.share and not s.listen and not s.insecure_no_auth
    assert s.data_dir == Path("data")


def test_env_then_flags_override(tmp_path):
    env = {"LORAG_PORT": "9000", "LORAG_DATA_DIR": str(tmp_path), "LORAG_SHARE": "true"}
    s = load_settings([], env=env)
    assert (s.port, s.data_dir, s.share) == (9000, tmp_path, True)
    s = load_settings(["--port", "9100"], env=env)
    assert s.port == 9100 and s.data_dir == tmp_path


def test_yaml_config_is_lowest_but_above_defaults(tmp_path):
    config = tmp_path / "lorag.yaml"
    config.write_text("port: 8123\nmax-upload-mb: 5\nweaviate_url: http://127.0.0.1:9999\n")
    s = load_settings(["--config", str(config)], env={})
    assert (s.port, s.max_upload_mb, s.weaviate_url) == (8123, 5, "http://127.0.0.1:9999")
    s = load_settings(["--config", str(config)], env={"LORAG_PORT": "8200"})
    assert s.port == 8200


@pytest.mark.parametrize(
    "argv, env, words",
    [
        ([], {"LORAG_PORT": "eighty"}, ["LORAG_PORT", "int", "eighty"]),
        ([], {"LORAG_SHARE": "maybe"}, ["LORAG_SHARE", "bool"]),
        (["--config", "/nonexistent/lorag.yaml"], {}, ["does not exist"]),
    ],
)
def test_bad_values_are_explained(argv, env, words):
    with pytest.raises(LoragError) as err:
        load_settings(argv, env=env)
    for word in words:
        assert word in str(err.value)


def test_unknown_yaml_key_is_refused(tmp_path):
    config = tmp_path / "bad.yaml"
    config.write_text("prot: 1\n")
    with pytest.raises(LoragError, match="unknown setting 'prot'"):
        load_settings(["--config", str(config)], env={})


def test_every_field_has_a_flag_with_help():
    helps = {a.dest: a.help for a in build_parser()._actions if a.dest != "help"}
    for name in Settings.__dataclass_fields__:
        assert name in helps and len(helps[name]) > 20, name


def test_help_lists_every_flag_without_heavy_imports():
    code = (
        "import sys, contextlib, io\n"
        "sys.argv = ['launch.py', '--help']\n"
        "import launch\n"
        "buf = io.StringIO()\n"
        "with contextlib.redirect_stdout(buf):\n"
        "    try:\n        launch.main(['--help'])\n    except SystemExit:\n        pass\n"
        "heavy = [m for m in ('torch', 'transformers', 'gradio', 'weaviate', 'unstructured') if m in sys.modules]\n"
        "print('HEAVY=' + ','.join(heavy))\n"
        "print(buf.getvalue())\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "HEAVY=\n" in out.stdout
    for flag in ("--data-dir", "--port", "--share", "--auth", "--weaviate-url", "--weaviate-api-key",
                 "--weaviate-binary", "--device", "--model", "--max-upload-mb", "--listen"):
        assert flag in out.stdout


def test_engine_url_and_key_come_from_flags_or_env():
    s = load_settings(["--engine-url", "http://127.0.0.1:8000/v1"], env={"LORAG_ENGINE_KEY": "sk-1"})
    assert s.engine_url == "http://127.0.0.1:8000/v1" and s.engine_key == "sk-1"
    assert load_settings([], env={}).engine_url == ""
