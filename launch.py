#!/usr/bin/env python3
"""Start the Lorag studio: flags -> Settings -> Studio -> build_app(studio) -> launch.

`python launch.py --help` lists every flag without importing torch or gradio.
`python launch.py backup DIR` / `restore DIR` back the data folder up and restore it (engine.backup.cli).
"""

from __future__ import annotations

import atexit
import logging
import os
import signal
import sys
import time

QUIET_ENV = {
    "GRADIO_ANALYTICS_ENABLED": "False",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "DO_NOT_TRACK": "1",
    "SCARF_NO_ANALYTICS": "true",
    "UNSTRUCTURED_DISABLE_NOTICE": "1",
    "TOKENIZERS_PARALLELISM": "false",
}

log = logging.getLogger("lorag")


def _share_failure_reason() -> str:
    """Why Gradio could not open a tunnel (it prints its own text; we keep one line for the page)."""
    from pathlib import Path

    from gradio.tunneling import BINARY_PATH

    if not Path(BINARY_PATH).exists():
        return "the tunnel program (frpc) is missing and could not be downloaded: no internet?"
    return "Gradio's share server could not be reached: no internet?"


def _announce(studio, access) -> None:
    from engine.api.mount import api_summary

    share = studio.share
    print(f"* Lorag is serving at {share.local_url}", flush=True)
    api = api_summary(studio, share.local_url, share.url)
    if api:
        print(f"* {api}", flush=True)
    if share.requested:
        print(f"* {share.summary()}", flush=True)
    if access.generated:
        user, password = next(iter(access.users.items()))
        print(f"* Login (generated for this run): user {user!r}, password {password!r}", flush=True)


def _open_studio(settings):
    """The Studio with its login plan, Weaviate started, --model loaded (a failure of either is logged and the
    studio serves anyway: chat works without documents, and a model can be loaded from the page) and the
    evaluation runs a restart stopped going on."""
    from engine.access import ShareState, plan_access
    from engine.errors import LoragError
    from engine.studio import Studio

    studio = Studio(settings, access=plan_access(settings), share=ShareState(requested=settings.share))
    atexit.register(studio.close)
    try:
        studio.start()
    except LoragError as exc:
        log.error("%s", exc)
        log.error("Serving anyway: chat works, documents need Weaviate (see the Settings tab).")
    if settings.model:
        try:
            log.info("loading %s", settings.model)
            studio.models.load(settings.model)
        except LoragError as exc:
            log.error("Could not load --model %s: %s", settings.model, exc)
    studio.resume_stopped_work()   # after --model: a resumed run finds its model loaded when it is that one
    return studio


def _serve(studio) -> None:
    """Launch the page (and the API) and block until SIGTERM / Ctrl-C."""
    from engine.api.mount import api_app_kwargs
    from engine.login import login_app_kwargs, page_login
    from ui.app import build_app, launch_options
    from ui.i18n import login_message

    settings, access = studio.settings, studio.access
    app = build_app(studio)
    try:
        app.queue(default_concurrency_limit=4).launch(
            server_name=settings.bind_host,
            server_port=settings.port,
            share=settings.share,
            auth=page_login(access) if access.login_required else None,
            auth_message=login_message() if access.login_required else None,
            max_file_size=f"{settings.max_upload_mb}mb",
            show_error=True,
            prevent_thread_lock=True,
            app_kwargs={**api_app_kwargs(studio), **login_app_kwargs(access)},
            **launch_options(),
        )
        studio.share.local_url = app.local_url
        studio.share.url = app.share_url or ""
        if settings.share and not app.share_url:
            studio.share.error = _share_failure_reason()
        _announce(studio, access)
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        app.close()


def main(argv: list[str] | None = None) -> int:
    from engine.errors import LoragError
    from engine.settings import load_settings

    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in ("backup", "restore"):
        from engine.backup.cli import run

        return run(argv)
    try:
        settings = load_settings(argv)
        for key, value in QUIET_ENV.items():
            os.environ.setdefault(key, value)
        logging.basicConfig(level=settings.log_level.upper(),
                            format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        # SIGTERM (systemd, `kill`, test harnesses) must stop the Weaviate child too, not just this process.
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        studio = _open_studio(settings)
    except LoragError as exc:
        print(f"lorag: {exc}", file=sys.stderr)
        return 2
    try:
        _serve(studio)
    finally:
        studio.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
