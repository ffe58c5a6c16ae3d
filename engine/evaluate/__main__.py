"""`python -m engine.evaluate CONFIG.yaml [--fresh] [--json]`: run an evaluation headless and print the table.

CONFIG.yaml holds the run (engine.evaluate.config.EvalConfig's fields) and, under `studio:`, the studio settings
(data_dir, weaviate_url, ...). `set` may be a file (it is stored first) or the sha256 of a stored set; in the
lists, `none` is the base model alone and `no documents` answers without a collection. A run of the same config
that stopped before its end is resumed (finished answers are kept) unless --fresh is given.
Don't point it at the data folder of a studio that manages its own Weaviate while that studio runs.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path
from typing import Any

from engine.errors import LoragError
from engine.evaluate.config import EvalConfig
from engine.evaluate.report import format_table

log = logging.getLogger("engine.evaluate")


def _read_config(path: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise LoragError(f"{path} cannot be read as YAML: {exc}") from None
    if not isinstance(data, dict):
        raise LoragError(f"{path} must hold a mapping of settings.")
    studio = dict(data.pop("studio", None) or {})
    if "data_dir" in studio:
        studio["data_dir"] = (path.parent / Path(studio["data_dir"]).expanduser()).resolve()
    return studio, data


def _run_config(studio: Any, data: dict[str, Any], base: Path) -> EvalConfig:
    data = dict(data)
    chosen = str(data.get("set", ""))
    candidate = (base / chosen).expanduser()
    if chosen and candidate.is_file():
        data["set"] = studio.evaluation.upload(candidate).sha256
    return EvalConfig.from_labels(data)


def _follow(studio: Any, job_id: str) -> Any:
    last = ""
    while True:
        job = studio.evaluation.wait(job_id, 2.0)
        if job.message != last:
            print(f"[{job.progress:5.1%}] {job.message}", file=sys.stderr, flush=True)
            last = job.message
        if not job.active:
            return job
        time.sleep(0.2)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m engine.evaluate", description=__doc__.split("\n")[0])
    parser.add_argument("config", type=Path, help="the run's YAML file")
    parser.add_argument("--fresh", action="store_true", help="start a new run even if one can be resumed")
    parser.add_argument("--json", action="store_true", help="print the results as JSON (last line) too")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
    from engine.settings import Settings
    from engine.studio import Studio

    try:
        studio_settings, data = _read_config(args.config)
        studio = Studio(Settings(**studio_settings))
        try:
            return _evaluate(studio, data, args)
        finally:
            studio.close()
    except LoragError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def _evaluate(studio: Any, data: dict[str, Any], args: argparse.Namespace) -> int:
    config = _run_config(studio, data, args.config.parent)
    if any(config.collections) and studio.weaviate is not None and studio.weaviate.managed:
        studio.weaviate.start()
    earlier = None if args.fresh else studio.evaluation.resumable(config)
    job = studio.evaluation.resume(earlier.id) if earlier else studio.evaluation.start(config)
    print(f"run {job.id}" + (" (resumed)" if earlier else ""), file=sys.stderr)
    job = _follow(studio, job.id)
    results = studio.evaluation.results(job.id)
    print(format_table(results.rows))
    if results.deltas:
        print(f"\nchange since {results.compared_with}: {json.dumps(results.deltas)}")
    if args.json:
        print(json.dumps({"run": job.id, "status": job.status, "table": [r.to_dict() for r in results.rows]}))
    if job.status != "completed":
        print(f"run {job.id} {job.status}: {job.message}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
