"""The files of one training job in data/jobs/<id>/: config.json (what the worker runs), metrics.jsonl (one line per
logged step or eval), state.json (the latest step, ETA and speed), log.txt, checkpoints/."""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.training.config import IN_JOB_CONFIG, TrainingConfig

CHECKPOINT_RE = re.compile(r"^checkpoint-(\d+)$")


@dataclass
class JobSpec:
    """What the studio writes to data/jobs/<id>/config.json for the worker."""

    job_id: str
    data_dir: str
    base_source: str
    base_label: str
    device: str                      # cuda | cpu (decided by the studio, which arbitrates the GPU)
    config: dict[str, Any] = field(default_factory=dict)
    calibration: dict[str, Any] = field(default_factory=dict)   # a calibration run: {steps, key} (see estimate.py)

    @property
    def training(self) -> TrainingConfig:
        return TrainingConfig.from_dict(self.config, IN_JOB_CONFIG)


def format_eta(seconds: float | None) -> str:
    if seconds is None:
        return "measuring…"
    seconds = int(max(0, seconds))
    if seconds >= 3600:
        return f"{seconds // 3600}h {seconds % 3600 // 60:02d}m"
    return f"{seconds // 60}m {seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"


class JobFiles:
    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)

    @property
    def config(self) -> Path:
        return self.folder / "config.json"

    @property
    def metrics(self) -> Path:
        return self.folder / "metrics.jsonl"

    @property
    def state(self) -> Path:
        return self.folder / "state.json"

    @property
    def log(self) -> Path:
        return self.folder / "log.txt"

    @property
    def checkpoints(self) -> Path:
        return self.folder / "checkpoints"

    @property
    def staging(self) -> Path:
        """Where the finished adapter is written before it is renamed into data/adapters (same file system)."""
        return self.folder / "adapter.partial"

    def write_json(self, path: Path, data: dict[str, Any]) -> None:
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps(data, indent=1))
        os.replace(tmp, path)

    def read_json(self, path: Path) -> dict[str, Any]:
        try:
            return json.loads(path.read_text())
        except (OSError, json.JSONDecodeError):
            return {}

    def write_state(self, data: dict[str, Any]) -> None:
        self.write_json(self.state, data)

    def read_state(self) -> dict[str, Any]:
        return self.read_json(self.state)

    def append_metric(self, record: dict[str, Any]) -> None:
        with self.metrics.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(record) + "\n")

    def read_metrics(self) -> list[dict[str, Any]]:
        if not self.metrics.exists():
            return []
        out = []
        for line in self.metrics.read_text(encoding="utf-8").splitlines():
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                continue  # a line being written right now
        return out

    def last_checkpoint(self) -> Path | None:
        if not self.checkpoints.is_dir():
            return None
        found = [(int(m.group(1)), p) for p in self.checkpoints.iterdir()
                 if (m := CHECKPOINT_RE.match(p.name)) and (p / "trainer_state.json").exists()]
        return max(found)[1] if found else None
