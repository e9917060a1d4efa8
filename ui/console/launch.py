"""Start the console, by default together with the HTTP API in one process over one opened index.

The embedded Qdrant Edge index has one owner at a time, so the API (``deskpilot serve``) and a separately
started ``streamlit run ui/console/app.py`` cannot share a data dir. :func:`run` opens everything once
(``ui.serve.serving``: migrations, store, index, warmed models, spool drain), serves the API with uvicorn
in a thread and hands the same index, models and store to the console (:func:`ui.console.resources.host`),
whose Streamlit server then runs in the main thread. ``python -m ui.console.launch --help``.
"""

from __future__ import annotations

import argparse
import logging
import os
import threading
from pathlib import Path

import uvicorn

from ui.api.server import uvicorn_config
from ui.console import ENTRY, resources
from ui.console.settings import ConsoleSettings
from ui.serve import serving
from ui.settings import AppSettings

log = logging.getLogger("deskpilot.console")


def _streamlit(host: str, port: int) -> None:
    """Run the console's Streamlit server in this thread until it is stopped."""
    from streamlit.web import cli

    cli.main.main(
        args=[
            "run",
            str(ENTRY),
            "--server.address",
            host,
            "--server.port",
            str(port),
            "--server.headless",
            "true",
            "--browser.gatherUsageStats",
            "false",
        ],
        prog_name="streamlit",
        standalone_mode=False,
    )


def run(
    settings: AppSettings | None = None,
    *,
    host: str = "127.0.0.1",
    port: int = 8501,
    api: bool = True,
    api_host: str | None = None,
    api_port: int | None = None,
    demo_pages: bool = True,
) -> None:
    """Serve the console on ``host:port``; with ``api`` also the HTTP API (``DESKPILOT_API_HOST/PORT`` by default)."""
    settings = settings or AppSettings.load()
    if not api:
        _streamlit(host, port)
        return
    with serving(settings, demo=demo_pages) as served:
        console = ConsoleSettings(data_dir=settings.feedback.data_dir)
        resources.host(resources.build(settings, console, served.retrieval, served.store, served.writer, served.tracer))
        h, p = api_host or settings.api.api_host, api_port or settings.api.api_port
        server = uvicorn.Server(
            uvicorn_config(served.app, settings.api, h, p, log_level="info", access_log=False, log_config=None)
        )
        thread = threading.Thread(target=server.run, name="deskpilot-api", daemon=True)
        thread.start()
        log.info("API on http://%s:%s, console on http://%s:%s", h, p, host, port)
        for tenant in served.demo_keys:
            log.info("demo help-center page: http://%s:%s/demo/%s", h, p, tenant)
        try:
            _streamlit(host, port)
        finally:
            server.should_exit = True
            thread.join(timeout=10)
            resources.host(None)


def main(argv: list[str] | None = None) -> None:
    """``python -m ui.console.launch [--port 8501] [--api-port 8000] [--no-api] [--data-dir DIR]``."""
    parser = argparse.ArgumentParser(prog="python -m ui.console.launch", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1", help="console interface (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8501, help="console port (default 8501)")
    parser.add_argument("--api-host", default=None, help="API interface (default DESKPILOT_API_HOST)")
    parser.add_argument("--api-port", type=int, default=None, help="API port (default DESKPILOT_API_PORT)")
    parser.add_argument("--no-api", action="store_true", help="console only (it opens the index itself)")
    parser.add_argument("--data-dir", type=Path, default=None, help="state directory (default DESKPILOT_DATA_DIR)")
    args = parser.parse_args(argv)
    if args.data_dir is not None:  # the console's own settings read it too
        os.environ["DESKPILOT_DATA_DIR"] = str(args.data_dir)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    run(
        AppSettings.load(args.data_dir),
        host=args.host,
        port=args.port,
        api=not args.no_api,
        api_host=args.api_host,
        api_port=args.api_port,
    )


if __name__ == "__main__":
    main()
