#!/usr/bin/env python3
"""Start the Lorag studio: flags -> Settings -> Studio -> build_app(studio) -> launch.

`python launch.py --help` lists every flag without importing torch or gradio.
"""

from __future__ import annotations

import atexit
import logging
import os
import signal
import sys

QUIET_ENV = {
    "GRADIO_ANALYTICS_ENABLED": "False",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "DO_NOT_TRACK": "1",
    "SCARF_NO_ANALYTICS": "true",
    "UNSTRUCTURED_DISABLE_NOTICE": "1",
    "TOKENIZERS_PARALLELISM": "false",
}


def main(argv: list[str] | None = None) -> int:
    from engine.errors import LoragError
    from engine.settings import load_settings

    try:
        settings = load_settings(argv)
    except LoragError as exc:
        print(f"lorag: {exc}", file=sys.stderr)
        return 2
    for key, value in QUIET_ENV.items():
        os.environ.setdefault(key, value)
    logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    log = logging.getLogger("lorag")

    from engine.studio import Studio

    try:
        studio = Studio(settings)
    except LoragError as exc:
        print(f"lorag: {exc}", file=sys.stderr)
        return 2
    atexit.register(studio.close)
    # SIGTERM (systemd, `kill`, test harnesses) must stop the Weaviate child too, not just this process.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        studio.start()
    except LoragError as exc:
        log.error("%s", exc)
        log.error("Serving anyway: chat works, documents need Weaviate (see the Settings tab).")

    from ui.app import build_app, launch_options

    app = build_app(studio)
    try:
        app.queue(default_concurrency_limit=4).launch(
            server_name=settings.bind_host,
            server_port=settings.port,
            share=settings.share,
            max_file_size=f"{settings.max_upload_mb}mb",
            show_error=True,
            quiet=False,
            **launch_options(),
        )
    finally:
        studio.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
