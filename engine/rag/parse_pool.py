"""PDF page steps parsed in parallel worker processes.

unstructured's fast strategy is pdfminer, pure Python: one core per parse, whatever the machine has. Workers
fork from a forkserver that imported unstructured once (about 7 s on a slow machine), so a pool costs
milliseconds after the first, and the studio's own process, with its threads, is never forked.

The forkserver starts on the first parse that could use it, in the background (not at studio start: it holds
the import in memory, and many people never upload a PDF); until it is ready, steps parse in one process.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any, Callable, Iterable

log = logging.getLogger(__name__)

MAX_AUTO_WORKERS = 4
PRELOAD = ["engine.rag.parse", "spacy", "unstructured.partition.pdf"]
CANCEL_POLL_S = 0.25

_ready = threading.Event()
_started = threading.Lock()


def worker_count(setting: int) -> int:
    """`setting` processes, or (0) one per CPU core up to MAX_AUTO_WORKERS."""
    return setting if setting > 0 else min(MAX_AUTO_WORKERS, os.cpu_count() or 1)


def _context():
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(PRELOAD)
    return context


def ready(setting: int, wait_s: float = 0.0) -> bool:
    """Whether workers can start now (the forkserver has imported unstructured); the first call starts that
    in the background. `wait_s` waits for it (benchmarks and tests)."""
    if worker_count(setting) <= 1:
        return False
    if _started.acquire(blocking=False):
        threading.Thread(target=_warm_up, name="parse-pool-warm-up", daemon=True).start()
    return _ready.wait(wait_s)


def _warm_up() -> None:
    try:
        with ProcessPoolExecutor(max_workers=1, mp_context=_context()) as pool:
            pool.submit(os.getpid).result()     # answers once the forkserver has imported PRELOAD
        _ready.set()
    except Exception:  # noqa: BLE001 - parsing goes on in one process; the log says why
        log.exception("the PDF parse workers could not start")


def map_in_order(fn: Callable[..., Any], calls: Iterable[tuple], workers: int,
                 on_result: Callable[[int, Any], None], check_cancel: Callable[[], None]) -> None:
    """Run fn(*call) for each call in `workers` processes; hand results to on_result in call order.

    A cancel (check_cancel raising) drops the calls not started and waits for the running ones (one step
    each), so no worker outlives the call."""
    with ProcessPoolExecutor(max_workers=workers, mp_context=_context()) as pool:
        futures = [pool.submit(fn, *call) for call in calls]
        try:
            for position, future in enumerate(futures):
                on_result(position, _result(future, check_cancel))
        except BaseException:
            for future in futures:
                future.cancel()
            raise


def _result(future, check_cancel: Callable[[], None]) -> Any:
    while True:
        check_cancel()
        try:
            return future.result(timeout=CANCEL_POLL_S)
        except FutureTimeout:
            continue
