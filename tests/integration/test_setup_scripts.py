"""The two README commands: set-up is idempotent (nothing installed or built twice) and start.sh serves the page."""

import os
import subprocess
import urllib.request
from pathlib import Path

import pytest

from tests.support.studio_process import free_port

ROOT = Path(__file__).resolve().parents[2]


def test_second_setup_installs_and_builds_nothing():
    out = subprocess.run(["bash", "scripts/setup.sh", "--browser"], cwd=ROOT, capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr
    assert "[setup] ready:" in out.stderr
    for word in ("installing", "building", "creating"):
        assert word not in out.stderr, out.stderr


def test_setup_leaves_the_gpu_kernels_alone_without_a_working_gpu(tmp_path):
    """The gpu extra (fla, causal_conv1d) is for machines whose nvidia-smi lists a GPU: one whose driver fails (or
    none at all, as here) gets nothing installed, nothing said, and a set-up that succeeds."""
    import tomllib

    extra = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]["gpu"]
    assert sorted(spec.split(">")[0] for spec in extra) == ["causal-conv1d", "flash-linear-attention"]
    fake = tmp_path / "nvidia-smi"
    fake.write_text("#!/bin/sh\necho 'NVIDIA-SMI has failed because it could not communicate with the driver.'\n"
                    "exit 9\n")
    fake.chmod(0o755)
    env = {**os.environ, "PATH": f"{tmp_path}:{os.environ['PATH']}"}
    out = subprocess.run(["bash", "scripts/setup.sh"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert "GPU kernels" not in out.stderr and "installing" not in out.stderr, out.stderr


def test_readme_quick_start_names_exactly_the_two_commands():
    readme = (ROOT / "README.md").read_text()
    quick = readme.split("## Quick start", 1)[1].split("```", 2)[1]
    commands = [line.split("#")[0].strip() for line in quick.splitlines()[1:] if line.strip()]
    assert commands == ["./start.sh", "./test.sh"]
    assert "./test.sh" in (ROOT / ".ci" / "run").read_text()


def test_start_sh_serves_the_studio(tmp_path):
    port = free_port()
    env = {**os.environ, "LORAG_DATA_DIR": str(tmp_path / "data"), "LORAG_PORT": str(port)}
    proc = subprocess.Popen(["./start.sh"], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    try:
        body = ""
        for _ in range(240):
            if proc.poll() is not None:
                pytest.fail(f"start.sh exited: {proc.stdout.read()}")
            try:
                body = urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2).read().decode()
                break
            except OSError:
                import time

                time.sleep(0.5)
        assert "Lorag" in body
        assert (tmp_path / "data" / "lorag.sqlite").exists()
        assert (tmp_path / "data" / "weaviate" / "server.log").exists()
    finally:
        proc.terminate()
        proc.wait(30)
    assert not (tmp_path / "data" / "weaviate" / "server.pid").exists(), "Weaviate child was not stopped"
