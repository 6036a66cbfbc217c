"""HTTP servers for the scrape benchmarks, each run in its own process.

``python -m benchmarks.servers WHICH PORT [FILE]``, all on 127.0.0.1:

- ``candidate``: the real exporter path, ``hub.build_hub`` + ``hub.serve`` run by
  ``core.server.run`` exactly as the commands run it (uvloop, httptools, the front
  door), with 100 workers of the bench plugin that publish new values every second.
- ``candidate-static``: the same, workers publish once and never again (diagnostic:
  the app without re-renders).
- ``ceiling``: the true ceiling: a bare ASGI callable on uvicorn with uvloop and
  httptools that hands out one pre-rendered bytes constant of the same content (or
  its gzip when accepted). No routing, no negotiation beyond gzip.
- ``ceiling-file``: the same bare server for the bytes in ``FILE`` (the small
  exposition of a standalone exporter, fetched from it by the benchmark).
- ``fastapi``: the earlier baseline: FastAPI returning the constant, on the
  project's ``make_server`` (kept as a second row).
- ``controlplane``: the real app whose targets come from a SQLite store at
  ``FILE`` (seeded with ``COUNT`` bench targets whose workers publish once, 10
  series each, so 1,000 targets give the 10,000 series of the scrape benchmark).
- ``prometheus-client``: the same 10,000 series as prometheus_client ``Gauge``
  series set every second with ``gauge.labels(...).set(value)``, served by
  prometheus_client's ``start_http_server`` (an exporter written the usual way).
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import math
import time
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request  # module level: the route's annotations resolve
from fastapi.responses import Response

from benchmarks import workload
from exporterhub.core.logging import configure_logging
from exporterhub.core.negotiation import TEXT_CONTENT_TYPE
from exporterhub.core.server import bind_socket, make_server, run

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


def _bare_app(body: bytes, packed: bytes):
    plain_headers = [
        (b"content-type", TEXT_CONTENT_TYPE.encode()),
        (b"content-length", str(len(body)).encode()),
    ]
    gzip_headers = [
        (b"content-type", TEXT_CONTENT_TYPE.encode()),
        (b"content-length", str(len(packed)).encode()),
        (b"content-encoding", b"gzip"),
    ]

    async def app(scope, receive, send):
        if scope["type"] != "http":
            return
        compressed = any(
            name == b"accept-encoding" and b"gzip" in value
            for name, value in scope["headers"]
        )
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": gzip_headers if compressed else plain_headers,
            }
        )
        await send(
            {"type": "http.response.body", "body": packed if compressed else body}
        )

    return app


def serve_ceiling(port: int, body: bytes, packed: bytes) -> None:
    import uvicorn

    config = uvicorn.Config(
        _bare_app(body, packed),
        host=HOST,
        port=port,
        http="httptools",
        loop="uvloop",
        lifespan="off",
        log_config=None,
        access_log=False,
    )
    sock = bind_socket(HOST, port)
    try:
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        sock.close()


async def serve_fastapi(port: int) -> None:
    body, packed = prerendered()
    app = FastAPI()

    @app.get("/metrics")
    async def metrics(request: Request) -> Response:
        if "gzip" in request.headers.get("accept-encoding", ""):
            return Response(
                packed,
                headers={
                    "Content-Type": TEXT_CONTENT_TYPE,
                    "Content-Encoding": "gzip",
                    "Vary": "Accept-Encoding",
                },
            )
        return Response(body, headers={"Content-Type": TEXT_CONTENT_TYPE})

    sock = bind_socket(HOST, port)
    try:
        await make_server(app, HOST, port).serve(sockets=[sock])
    finally:
        sock.close()


def serve_prometheus_client(port: int) -> None:
    from prometheus_client import CollectorRegistry, Gauge, start_http_server

    registry = CollectorRegistry()
    gauges = [
        Gauge(
            spec.name,
            spec.help,
            ["host", "inst", "channel"],
            registry=registry,
        )
        for spec in workload.SPECS
    ]
    label_values = [
        [
            (*(v for _, v in workload.identity(index)), channel)
            for channel in workload.CHANNELS
        ]
        for index in range(workload.N_TARGETS)
    ]
    start_http_server(port, addr=HOST, registry=registry)
    while True:  # new values on every whole second, as the candidate's workers
        now = time.time()
        tick = int(now)
        for index, labels in enumerate(label_values):
            values = iter(workload.values(index, tick))
            # The usual way: look the child up by its labels and set it.
            for gauge in gauges:
                for label in labels:
                    gauge.labels(*label).set(next(values))
        time.sleep(max(0.0, math.floor(now) + 1.0 - time.time()))


async def seed_store(path: Path, count: int) -> Any:
    """Open a SQLite store at ``path`` holding ``count`` bench targets."""
    from exporterhub.core.store import TargetStore, store_url

    store = await TargetStore.open(
        store_url(str(path)), key_file=path.with_suffix(".key")
    )
    await store.create_many(
        [
            (workload.KIND, f"t{index:05d}", {"index": index}, True)
            for index in range(count)
        ]
    )
    return store


async def serve_controlplane(port: int, path: Path, count: int) -> None:
    """The real app with ``count`` stored bench targets (workers publish once)."""
    from exporterhub.hub import serve

    store = await seed_store(path, count)
    try:
        state = workload.build_state(changing=False, store=store, families=1)
        await serve(state, f"{HOST}:{port}")
    finally:
        await store.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "which",
        choices=(
            "candidate",
            "candidate-static",
            "candidate-empty",
            "ceiling",
            "ceiling-file",
            "fastapi",
            "prometheus-client",
            "controlplane",
        ),
    )
    parser.add_argument("port", type=int)
    parser.add_argument("file", nargs="?", type=Path)
    parser.add_argument("count", nargs="?", type=int, default=1000)
    args = parser.parse_args()
    configure_logging("warning", "json")
    with contextlib.suppress(KeyboardInterrupt):
        if args.which == "ceiling":
            serve_ceiling(args.port, *prerendered())
        elif args.which == "ceiling-file":
            body = args.file.read_bytes()
            serve_ceiling(args.port, body, gzip.compress(body, 5, mtime=0))
        elif args.which == "prometheus-client":
            serve_prometheus_client(args.port)
        elif args.which == "controlplane":
            run(serve_controlplane(args.port, args.file, args.count))
        elif args.which == "fastapi":
            run(serve_fastapi(args.port))
        elif args.which == "candidate-empty":
            from exporterhub.hub import serve

            run(serve(workload.build_state(empty=True), f"{HOST}:{args.port}"))
        else:
            run(serve_candidate(args.port, changing=args.which == "candidate"))


if __name__ == "__main__":
    main()
