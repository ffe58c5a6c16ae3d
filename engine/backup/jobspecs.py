"""Restored training jobs point at the data folder they were restored into.

A training job's data/jobs/<id>/config.json (engine.training.jobfiles.JobSpec) names the data folder its worker
writes to, and often a base model inside it; a resumed job would otherwise write into the folder the backup
came from.
"""

from __future__ import annotations

from pathlib import Path

from engine.training.jobfiles import JobFiles


def repoint_training_jobs(data_dir: Path) -> int:
    """Rewrite the data folder in every training job's config.json; returns how many were rewritten."""
    new = str(Path(data_dir).resolve())
    changed = 0
    for config in sorted(Path(data_dir, "jobs").glob("*/config.json")):
        files = JobFiles(config.parent)
        spec = files.read_json(config)
        old = spec.get("data_dir")
        if not isinstance(old, str) or "job_id" not in spec or old == new:
            continue
        spec["data_dir"] = new
        source = spec.get("base_source")
        if isinstance(source, str) and source.startswith(old.rstrip("/") + "/"):
            spec["base_source"] = new + source[len(old.rstrip("/")):]
        files.write_json(config, spec)
        changed += 1
    return changed


