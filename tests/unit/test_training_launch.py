"""The worker's command line for one process and for several (accelerate launch), read back by accelerate's own
parser; the checks on the number of processes; the steps, memory and batch texts that follow the processes."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from engine.errors import LoragError
from engine.training import launch
from engine.training.config import TrainingConfig
from engine.training.estimate import fit_lines
from engine.training.launch import FSDP_CONFIG, check_processes, processes_text, worker_command
from engine.training.plan import planned_steps

CONFIG = Path("/data/jobs/job-1/config.json")


def test_one_process_runs_the_worker_module_itself():
    assert worker_command(CONFIG, 1, "cpu", python="py") == ["py", "-m", "engine.training.worker", str(CONFIG)]
    assert worker_command(CONFIG, 1, "cuda", resume=True, python="py")[-1] == "--resume"


def parsed(command: list[str]):
    """accelerate's own `accelerate launch` parser on what follows `python -m accelerate.commands.launch`."""
    from accelerate.commands.launch import launch_command_parser

    assert command[1:3] == ["-m", "accelerate.commands.launch"]
    return launch_command_parser().parse_args(command[3:])


def test_several_processes_run_the_worker_under_accelerate_launch():
    command = worker_command(CONFIG, 2, "cpu", resume=True, python=sys.executable)
    args = parsed(command)
    assert args.num_processes == 2 and args.num_machines == 1
    assert args.multi_gpu and not args.cpu   # --cpu would take accelerate's one-process launcher
    assert args.main_process_port == 0       # accelerate picks a free port
    assert args.module and args.training_script == "engine.training.worker"
    assert args.training_script_args == [str(CONFIG), "--resume"]
    assert not args.use_fsdp and args.config_file is None


def test_fsdp_on_gpus_passes_the_accelerate_config_preset():
    from accelerate.commands.config.config_args import load_config_from_file

    args = parsed(worker_command(CONFIG, 4, "cuda", "fsdp", python=sys.executable))
    assert args.config_file == str(FSDP_CONFIG) and not args.multi_gpu and args.num_processes == 4
    assert args.mixed_precision is None   # the config file's bf16 stays (a flag would override it)
    from accelerate.commands.launch import _validate_launch_command

    resolved, _, _ = _validate_launch_command(args)   # what `accelerate launch` makes of the flags and the file
    assert resolved.use_fsdp and resolved.mixed_precision == "bf16" and resolved.num_processes == 4
    assert str(resolved.fsdp_version) == "2" and resolved.fsdp_activation_checkpointing
    config = load_config_from_file(str(FSDP_CONFIG))
    assert str(config.distributed_type) in ("FSDP", "DistributedType.FSDP")
    assert config.fsdp_config["fsdp_version"] == 2
    assert config.fsdp_config["fsdp_state_dict_type"] == "FULL_STATE_DICT"  # rank 0 gets the whole adapter


def test_the_studio_refuses_more_processes_than_the_device_has(monkeypatch):
    monkeypatch.setattr(launch, "visible_gpus", lambda: 1)
    monkeypatch.setattr(launch, "cpu_cores", lambda: 2)
    check_processes(TrainingConfig(processes=1), "cuda")
    check_processes(TrainingConfig(processes=2), "cpu")
    with pytest.raises(LoragError) as info:
        check_processes(TrainingConfig(processes=2), "cuda")
    assert info.value.key == "training.too_many_processes" and info.value.params == {"processes": 2, "gpus": 1}
    with pytest.raises(LoragError) as info:
        check_processes(TrainingConfig(processes=3), "cpu")
    assert info.value.key == "training.too_many_cpu_processes" and info.value.params == {"processes": 3, "cores": 2}
    with pytest.raises(LoragError) as info:
        check_processes(TrainingConfig(processes=2, distributed="fsdp"), "cpu")
    assert info.value.key == "training.fsdp_needs_gpu"


def test_processes_divide_the_steps_of_an_epoch_and_multiply_the_global_batch():
    one = TrainingConfig(batch_size=4, grad_accum=2, epochs=1)
    two = TrainingConfig(batch_size=2, grad_accum=2, epochs=1, processes=2)
    assert two.global_batch == 8 and TrainingConfig(batch_size=2, grad_accum=2, epochs=1).global_batch == 4
    assert planned_steps(one, 16) == planned_steps(two, 16) == 2
    assert planned_steps(TrainingConfig(batch_size=2, grad_accum=1, epochs=1, processes=2), 10) == 3
    assert "global batch 2 × 2 × 2 = 8 rows" in processes_text(two, "cpu")
    assert "whole copy of the model" in processes_text(two, "cpu")
    assert "1/2 of the weights" in processes_text(TrainingConfig(processes=2, distributed="fsdp"), "cuda")


def test_the_memory_estimate_is_per_process():
    gb = 10 ** 9
    single = fit_lines(1_000_000_000, 4_000_000, 100_000, "cpu", 20 * gb)
    cpu = fit_lines(1_000_000_000, 4_000_000, 100_000, "cpu", 20 * gb, processes=2)
    assert cpu[0].needed_bytes == single[0].needed_bytes and cpu[0].total_bytes == 2 * single[0].needed_bytes
    assert "per process × 2" in cpu[0].text()
    gpu = fit_lines(1_000_000_000, 4_000_000, 100_000, "cuda", 20 * gb, processes=2)
    assert gpu[0].total_bytes == gpu[0].needed_bytes and "on each of 2 GPUs" in gpu[0].text()
    fsdp = fit_lines(1_000_000_000, 4_000_000, 100_000, "cuda", 20 * gb, processes=2, distributed="fsdp")
    assert len(fsdp) == 1 and fsdp[0].needed_bytes < gpu[0].needed_bytes


def test_the_training_tab_says_the_global_batch_and_what_each_process_holds():
    from ui.tabs.training_view import batch_note

    assert batch_note(4, 1, 2, "ddp").startswith("**Global batch:** 4 rows per process × 1 process(es) × 2")
    text = batch_note(2, 2, 2, "ddp")
    assert "= **8 rows** per optimizer step" in text and "whole copy of the model" in text
    assert "1/2 of the weights" in batch_note(2, 2, 1, "fsdp")
