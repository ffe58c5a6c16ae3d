"""Evaluation in the API ("RAG or LoRA?" from a script): sets, runs, their progress, results and cancel.

    GET  /v1/evaluation/sets                  the stored sets (newest first)
    POST /v1/evaluation/sets                  upload one: multipart/form-data with the file as `file`
    GET  /v1/evaluation/runs                  the runs (newest first)
    POST /v1/evaluation/runs                  start one: the command line's YAML as JSON (or YAML with a YAML
                                              content type), without its `studio:` part; `set` is a stored set's
                                              sha256, `none` / `no documents` as in the YAML
    GET  /v1/evaluation/runs/{id}             status and progress (answered of total)
    GET  /v1/evaluation/runs/{id}/results     the table (one row per cell), every answer with its scores
    POST /v1/evaluation/runs/{id}/cancel      ask the run to stop (finished answers stay; resume goes on)
    POST /v1/evaluation/runs/{id}/resume      go on with a stopped run

Everything goes through studio.evaluation (engine.evaluate.service), as the Evaluate tab and the command line do;
credentials are the API's (engine.api.auth, checked before any route). A run's collections must be ones the
caller may see (its own and shared ones), as in the document chat.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, Request

from engine.api.auth import Caller
from engine.api.documents import viewer_of, visible_collection
from engine.api.errors import NOT_FOUND, ApiError, from_lorag
from engine.api.schemas import parse_json, read_body
from engine.api.streaming import in_api_thread
from engine.errors import LoragError

if TYPE_CHECKING:
    from engine.evaluate.sets import EvalSet
    from engine.jobs import Job
    from engine.studio import Studio

PREFIX = "/evaluation"


def set_view(evalset: "EvalSet") -> dict[str, Any]:
    return {"object": "evaluation.set", "id": evalset.sha256, "filename": evalset.filename,
            "questions": len(evalset.questions), "with_gold_pages": evalset.with_evidence,
            "skipped_rows": evalset.errors, "uploaded_at": evalset.uploaded_at}


def run_view(job: "Job") -> dict[str, Any]:
    return {"object": "evaluation.run", "id": job.id, "title": job.title, "status": job.status,
            "progress": job.progress, "message": job.message, "config": job.config, "result": job.result,
            "created_at": job.created_at, "started_at": job.started_at, "finished_at": job.finished_at}


def listing(items: list[dict[str, Any]]) -> dict[str, Any]:
    return {"object": "list", "data": items}


def _run(studio: "Studio", run_id: str) -> "Job":
    try:
        return studio.evaluation.run(run_id)
    except LoragError as exc:
        raise ApiError(404, str(exc), NOT_FOUND, param="id", code="run_not_found") from None


def _config(raw: bytes, content_type: str) -> dict[str, Any]:
    """The body as a mapping: JSON, or YAML when the content type says so (the command line's file as is)."""
    if "yaml" in content_type:
        import yaml

        try:
            data = yaml.safe_load(raw.decode("utf-8")) if raw.strip() else None
        except (UnicodeDecodeError, yaml.YAMLError) as exc:
            raise ApiError(400, f"The request body is not valid YAML: {exc}", code="invalid_yaml") from None
    else:
        data = parse_json(raw)
    if not isinstance(data, dict):
        raise ApiError(400, "The request body must be a mapping of the run's settings (set, base_model, adapters, "
                            "collections, ...).", code="invalid_json")
    if "studio" in data:
        raise ApiError(400, "'studio' settings belong to the command line: this studio runs with its own.",
                       param="studio")
    return data


def start_run(studio: "Studio", data: dict[str, Any], caller: Caller) -> "Job":
    """Check the run (its collections: ones the caller may see) and start it as the caller's job."""
    from engine.evaluate.config import EvalConfig

    try:
        config = EvalConfig.from_labels(data)
    except (LoragError, TypeError, ValueError) as exc:
        raise ApiError(400, str(exc), code="invalid_value") from None
    viewer = viewer_of(caller, studio.access.login_required)
    for name in filter(None, config.collections):
        visible_collection(studio.rag, name, viewer, "collections")
    return studio.evaluation.start(config, owner=caller.owner)


def progress_view(studio: "Studio", run_id: str) -> dict[str, Any]:
    results = studio.evaluation.results(_run(studio, run_id).id)
    total = len(results.cells) * len(results.evalset.questions)
    return {**run_view(results.job), "answered": len(results.answers), "total": total}


def upload_set(studio: "Studio", filename: str, content: bytes) -> "EvalSet":
    """Store an uploaded set (refused with the lines that are wrong before anything is stored)."""
    name = Path(filename or "set.jsonl").name
    with tempfile.TemporaryDirectory(prefix="lorag-evalset-") as folder:
        path = Path(folder) / name
        path.write_bytes(content)
        return studio.evaluation.upload(path, name)


async def _uploaded(request: Request) -> tuple[str, bytes]:
    """(filename, content) of the multipart field `file`; the body is read within the API's limit first."""
    if "multipart/form-data" not in request.headers.get("content-type", ""):
        raise ApiError(400, "Send the set as multipart/form-data with the file in the field 'file'.", param="file")
    raw = await read_body(request)

    async def replay() -> dict[str, Any]:
        return {"type": "http.request", "body": raw, "more_body": False}

    form = await Request(request.scope, receive=replay).form()
    upload = form.get("file")
    if upload is None or isinstance(upload, str):
        raise ApiError(400, "The field 'file' with the set (.jsonl or .json) is missing.", param="file")
    return upload.filename or "set.jsonl", await upload.read()


def add_evaluation_routes(api: FastAPI, studio: "Studio") -> None:
    """The routes above, on the API app (its gate and error handlers apply)."""
    @api.get(PREFIX + "/sets")
    async def list_sets() -> dict[str, Any]:
        sets = await in_api_thread(studio.evaluation.list_sets)
        return listing([set_view(s) for s in sets])

    @api.post(PREFIX + "/sets")
    async def create_set(request: Request) -> dict[str, Any]:
        filename, content = await _uploaded(request)
        try:
            return set_view(await in_api_thread(upload_set, studio, filename, content))
        except LoragError as exc:
            raise from_lorag(exc, param="file") from None

    @api.get(PREFIX + "/runs")
    async def list_runs() -> dict[str, Any]:
        return listing([run_view(j) for j in await in_api_thread(studio.evaluation.runs)])

    @api.post(PREFIX + "/runs")
    async def create_run(request: Request) -> dict[str, Any]:
        data = _config(await read_body(request), request.headers.get("content-type", ""))
        return run_view(await in_api_thread(start_run, studio, data, request.state.caller))

    @api.get(PREFIX + "/runs/{run_id}")
    async def get_run(run_id: str) -> dict[str, Any]:
        return await in_api_thread(progress_view, studio, run_id)

    @api.get(PREFIX + "/runs/{run_id}/results")
    async def get_results(run_id: str) -> dict[str, Any]:
        results = await in_api_thread(studio.evaluation.results, _run(studio, run_id).id)
        return {"object": "evaluation.results", "run": run_view(results.job), **results.to_dict()}

    @api.post(PREFIX + "/runs/{run_id}/cancel")
    async def cancel_run(run_id: str) -> dict[str, Any]:
        return run_view(await in_api_thread(studio.evaluation.cancel, _run(studio, run_id).id))

    @api.post(PREFIX + "/runs/{run_id}/resume")
    async def resume_run(run_id: str) -> dict[str, Any]:
        return run_view(await in_api_thread(studio.evaluation.resume, _run(studio, run_id).id))
