"""HTTP servers for the scrape benchmark, each run in its own process.

``python -m benchmarks.servers candidate PORT``: the real exporter path:
``hub.build_hub`` + ``hub.serve`` (``create_app``, uvicorn via ``core.server``) with
100 running workers of the bench plugin that publish new values every second.

``python -m benchmarks.servers candidate-static PORT``: the same, but the workers
publish once and never again (diagnostic: the app without re-renders).

``python -m benchmarks.servers baseline PORT``: the same uvicorn settings
(``core.server.make_server``) and FastAPI, ``/metrics`` returning one pre-rendered
bytes constant of the same content (or its gzip when accepted).

Both bind 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib

from fastapi import FastAPI, Request
from fastapi.responses import Response

from benchmarks import workload
from exporterhub.core.exposition import TEXT_CONTENT_TYPE
from exporterhub.core.logging import configure_logging
from exporterhub.core.server import bind_socket, make_server

HOST = "127.0.0.1"


def prerendered() -> tuple[bytes, bytes]:
    """Render the workload once through the real Exposition; return body and gzip."""
    state = workload.build_state()
    publishers = workload.static_publishers(state)
    workload.publish_all(publishers, 0)
    return state.exposition.body(), state.exposition.gzip_body()


async def serve_candidate(port: int, changing: bool = True) -> None:
    from exporterhub.hub import serve

    await serve(workload.build_state(changing=changing), f"{HOST}:{port}")


async def serve_baseline(port: int) -> None:
    body, packed = prerendered()
    app = FastAPI()

    @app.get("/metrics")
    async def metrics(request: Request) -> Response:
        if "gzip" in request.headers.get("accept-encoding", ""):
            return Response(
                packed,
                media_type=TEXT_CONTENT_TYPE,
                headers={"Content-Encoding": "gzip", "Vary": "Accept-Encoding"},
            )
        return Response(body, media_type=TEXT_CONTENT_TYPE)

    sock = bind_socket(HOST, port)
    try:
        await make_server(app, HOST, port).serve(sockets=[sock])
    finally:
        sock.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("which", choices=("candidate", "candidate-static", "baseline"))
    parser.add_argument("port", type=int)
    args = parser.parse_args()
    configure_logging("warning", "json")
    if args.which == "baseline":
        main_coro = serve_baseline(args.port)
    else:
        main_coro = serve_candidate(args.port, changing=args.which == "candidate")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main_coro)


if __name__ == "__main__":
    main()
