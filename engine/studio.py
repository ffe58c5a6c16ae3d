"""The facade the UI and the API call.

`Studio` owns the data folder, the SQLite store, the jobs and the Weaviate server, and hands out
one service object per concern (models, chats, adapters, rag, training). Services are created on
first use, so building a Studio (and `import ui`) stays cheap: torch and friends load only when a
person first needs them.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

from engine.access import AccessPlan, ShareState
from engine.errors import LoragError
from engine.jobs import Jobs
from engine.settings import Settings
from engine.store import Store
from engine.weaviate import RemoteWeaviate, WeaviateEndpoint, WeaviateStatus
from engine.weaviate.cluster import ManagedCluster
from engine.weaviate.link import WeaviateLink
from engine.weaviate.server import ManagedWeaviate
from engine.writes import WriteLock

if TYPE_CHECKING:
    from pathlib import Path

    from engine.adapters.registry import AdapterRegistry
    from engine.backup.manifest import Manifest
    from engine.chats import ChatStore
    from engine.evaluate.service import EvaluationService
    from engine.models.service import ModelService
    from engine.rag.service import RagService
    from engine.ratelimit import RateLimiter
    from engine.training.service import TrainingService

log = logging.getLogger(__name__)

DATA_SUBFOLDERS = ("models", "adapters", "datasets", "uploads", "jobs", "weaviate")
IN_PROCESS_JOB_KINDS = ("ingest", "download", "merge")


@dataclass
class StudioStatus:
    model: str
    weaviate: WeaviateStatus

    def summary(self) -> str:
        return f"Model: {self.model} · {self.weaviate.summary()}"


class Studio:
    def __init__(self, settings: Settings, access: AccessPlan | None = None, share: ShareState | None = None) -> None:
        """`access`: who may sign in (engine.access.plan_access; none by default); `share`: the share link's state."""
        self.settings = settings
        self.data_dir = settings.data_dir
        for name in DATA_SUBFOLDERS:
            settings.path(name).mkdir(parents=True, exist_ok=True)
        self.store = Store(settings.path("lorag.sqlite"))
        self.jobs = Jobs(self.store, settings.path("jobs"))
        self.writes = WriteLock(settings.path("writes.lock"))  # document writes vs backups (engine.writes)
        self.weaviate = self._make_weaviate()
        self._weaviate_lock = threading.Lock()
        self.access = access or AccessPlan()
        self.share = share or ShareState()

    def _make_weaviate(self) -> ManagedWeaviate | ManagedCluster | RemoteWeaviate | None:
        s = self.settings
        if s.no_weaviate:
            return None
        if s.weaviate_url:
            return RemoteWeaviate(s.weaviate_url, s.weaviate_grpc_port, s.weaviate_api_key)
        if s.weaviate_nodes > 1:
            return ManagedCluster(s.path("weaviate"), s.weaviate_nodes, binary=s.weaviate_binary,
                                  timeout=s.weaviate_timeout, api_key=s.weaviate_api_key)
        return ManagedWeaviate(s.path("weaviate"), binary=s.weaviate_binary, timeout=s.weaviate_timeout,
                               api_key=s.weaviate_api_key)

    # --- life cycle -------------------------------------------------------------------------------
    def start(self) -> None:
        """Start what the studio needs before serving: mark dead jobs (and drop what they left half-written), start
        Weaviate."""
        from engine.adapters.merge import drop_partial_merges

        orphans = self.jobs.mark_orphans(IN_PROCESS_JOB_KINDS)
        if orphans:
            log.warning("%d job(s) were interrupted by the last shutdown", orphans)
        drop_partial_merges(self.settings.path("models"))
        if self.weaviate is not None:
            self.weaviate.start()

    def resume_stopped_work(self) -> None:
        """After start (and --model): the evaluation runs the last shutdown stopped go on by themselves, each saying
        so, unless --no-auto-resume (then they wait for their Resume button). Training needs nothing here: its
        workers outlive the studio."""
        runs = self.evaluation   # building it marks the runs whose process is gone
        if not self.settings.no_auto_resume:
            runs.resume_after_restart()

    def close(self) -> None:
        if "rag" in self.__dict__:  # never used: nothing to close, and no client to import for it
            self.rag.close()
        if self.weaviate is not None:
            self.weaviate.stop()
        self.store.close()

    # --- Weaviate ---------------------------------------------------------------------------------
    def weaviate_endpoint(self) -> WeaviateEndpoint:
        return WeaviateLink(self.weaviate).endpoint()

    def restart_weaviate(self) -> WeaviateStatus:
        if self.weaviate is None:
            raise LoragError("Weaviate is turned off (--no-weaviate).", key="documents.weaviate_off")
        with self._weaviate_lock:
            self.weaviate.restart()
        if "rag" in self.__dict__:  # chunks a failed store step left while the server was down go now
            self.rag.purge_interrupted()
        return self.weaviate.status()

    def weaviate_status(self) -> WeaviateStatus:
        if self.weaviate is None:
            return WeaviateStatus(running=False, managed=False, url="", error="turned off (--no-weaviate)")
        return self.weaviate.status()

    # --- backups ----------------------------------------------------------------------------------------
    def backup(self, target: "Path") -> "Manifest":
        """Back up the data folder into `target` (new or empty) while the studio runs (engine.backup.create)."""
        from engine.backup.create import create_backup

        return create_backup(self.settings, self.store, self.weaviate, self.writes, target)

    # --- services: created on first use; each module imports its heavy libraries itself ---------------
    @cached_property
    def models(self) -> "ModelService":
        from engine.models.service import ModelService

        s = self.settings
        engine = None
        if s.engine_url:
            from engine.models.remote import EngineClient

            engine = EngineClient(s.engine_url, s.engine_key)
        return ModelService(s.path("models"), s.path("adapters"), jobs=self.jobs, device=s.device, engine=engine)

    @cached_property
    def chats(self) -> "ChatStore":
        from engine.chats import ChatStore

        return ChatStore(self.store)

    @cached_property
    def adapters(self) -> "AdapterRegistry":
        from engine.adapters.registry import AdapterRegistry

        return AdapterRegistry(self.settings.path("adapters"), self.models, jobs=self.jobs)

    @cached_property
    def rag(self) -> "RagService":
        """engine.rag.service.RagService: collections, ingestion jobs, hybrid search, cited answers."""
        from engine.rag.service import RagService

        s = self.settings
        return RagService(self.store, self.jobs, WeaviateLink(self.weaviate), s.path("uploads"), s.path("models"),
                          max_upload_bytes=s.max_upload_bytes, writes=self.writes,
                          consistency=s.weaviate_consistency)

    @cached_property
    def training(self) -> "TrainingService":
        """Datasets, preview, recipes and training jobs (workers run in their own processes)."""
        from engine.training.service import TrainingService

        s = self.settings
        return TrainingService(s.data_dir, self.jobs, self.models, max_upload_bytes=s.max_upload_bytes)

    @cached_property
    def evaluation(self) -> "EvaluationService":
        """Evaluation sets and runs: {base, adapters} x {no documents, collections}, scored (engine.evaluate)."""
        from engine.evaluate.service import EvaluationService

        return EvaluationService(self)

    @cached_property
    def limiter(self) -> "RateLimiter":
        """Generation requests per minute per person (UI and API share it)."""
        from engine.ratelimit import RateLimiter

        return RateLimiter(self.settings.rate_limit)

    # --- status -----------------------------------------------------------------------------------
    def started_models(self) -> "ModelService | None":
        """The model service when something has used it, else None: a status check, the API's model list or
        a stop asks this instead of building the service just to learn that nothing is loaded."""
        return self.__dict__.get("models")

    def model_summary(self) -> str:
        models = self.started_models()
        return models.summary() if models is not None else "none loaded"

    def status(self) -> StudioStatus:
        return StudioStatus(model=self.model_summary(), weaviate=self.weaviate_status())
