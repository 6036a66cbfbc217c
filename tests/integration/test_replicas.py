"""Three ``exporterhub serve --shard i/3`` replicas share one PostgreSQL store.

Real processes on loopback, the session's real PostgreSQL, the CHAOS simulator
(40 stored targets, all on its demo login) and a real Prometheus that discovers each
replica's targets through its ``/api/sd`` (one job per replica, relabelled as
docs/prometheus-sd.md shows), scrapes every replica's ``/metrics`` in a job of
its own and evaluates the shipped deploy/prometheus/rules/replicas.yml (the
``for:`` shortened to 2 s, nothing else changed). The test checks, in order:

- every target is scraped exactly once, by the job of the replica rendezvous
  hashing gives it, and every replica's API lists all 40;
- stopping one replica takes down exactly its shard's targets (their ``up``
  goes to 0, every other target stays up) and fires ExporterhubReplicaDown
  for that replica only;
- restarting the replicas as four moves only the targets the fourth now owns,
  about a quarter of them;
- a target added through one replica's API starts on its owner (another
  replica) within the store's ``poll_interval`` (plus a scheduling margin).

Every wait is a bounded poll on a condition; nothing sleeps for a fixed time.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import signal
import subprocess
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
import yaml

from exporterhub.core.shard import owner
from exporterhub.core.store import KEY_ENV, generate_key
from exporterhub.core.testing import free_port
from exporterhub.simulators.chaos import ChaosSimConfig, ChaosSimulator

from .spawned import spawn, stop
from .test_prometheus_e2e import prometheus_binary
from .test_prometheus_sd import prometheus, query

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "deploy" / "prometheus" / "rules" / "replicas.yml"
NAMES = [f"line-{i:02d}" for i in range(40)]
"""A fixed target set: the placements, and so the moved share, are deterministic."""
POLL_INTERVAL = 1.0
"""The store's poll_interval in seconds (its minimum), set in the config file."""
MARGIN = 5.0
"""Seconds allowed beyond poll_interval for a replica on this shared 2-CPU
machine to run its poll, start the worker and answer (process scheduling)."""
T = TypeVar("T")


@dataclass
class Replica:
    """One ``exporterhub serve --shard index/count`` process."""

    index: int
    count: int
    proc: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.address}"


class Cluster:
    """Starts and stops the replicas; everything they share."""

    def __init__(self, tmp_path: Path, store: str) -> None:
        self.tmp_path, self.store = tmp_path, store
        self.config = tmp_path / "exporterhub.yaml"
        self.config.write_text(
            f"store:\n  poll_interval: {POLL_INTERVAL}\nexporters: {{}}\n",
            encoding="utf-8",
        )
        self.replicas: list[Replica] = []
        self.started = 0

    async def start(self, count: int) -> list[Replica]:
        """Start replicas 0..count-1 of ``count`` at once; wait until all answer."""
        started = []
        for index in range(count):
            port = free_port()
            self.started += 1
            log = self.tmp_path / f"replica-{self.started}-{index}of{count}.log"
            proc = spawn(
                [
                    "--log.format", "json",
                    "--log.level", "warning",
                    "--config", str(self.config),
                    "--store", self.store,
                    "--shard", f"{index}/{count}",
                    "--web.listen-address", f"127.0.0.1:{port}",
                ],
                log,
            )  # fmt: skip
            started.append(Replica(index, count, proc, port, log))
        self.replicas = started
        await asyncio.gather(*(serving(r) for r in started))
        return started

    def stop_all(self) -> None:
        """SIGTERM every replica at once, then wait for each."""
        for replica in self.replicas:
            if replica.proc.poll() is None:
                replica.proc.send_signal(signal.SIGTERM)
        for replica in self.replicas:
            stop(replica.proc)


async def serving(replica: Replica) -> None:
    """Wait until the replica answers /-/healthy; fail if it exits first.

    Several replicas start at once on a 2-core machine other tests share: allow
    a minute (the importing is most of it), not spawned.py's 30 s.
    """
    async with httpx.AsyncClient(base_url=replica.url, timeout=2) as http:

        async def healthy() -> bool | None:
            if replica.proc.poll() is not None:
                tail = replica.log.read_text(errors="replace")[-2000:]
                pytest.fail(f"replica {replica.index} exited at start:\n{tail}")
            return True if (await http.get("/-/healthy")).status_code == 200 else None

        await until(f"replica {replica.index} answers", healthy, within=60)


@contextlib.asynccontextmanager
async def cluster(tmp_path: Path, store: str) -> AsyncIterator[Cluster]:
    hub = Cluster(tmp_path, store)
    try:
        yield hub
    finally:
        hub.stop_all()


async def until(
    what: str, probe: Callable[[], Awaitable[T | None]], within: float = 30.0
) -> T:
    """Poll ``probe`` until it returns something (not None); fail after ``within``."""
    last: Any = None
    print(f"waiting: {what} at {time.monotonic():.1f}")  # shown when a test fails
    try:
        async with asyncio.timeout(within):
            while True:
                # Not listening yet, or not ready: Prometheus answers 503 in text.
                with contextlib.suppress(httpx.TransportError, ValueError):
                    last = await probe()
                    if last is not None:
                        print(f"done: {what} at {time.monotonic():.1f}")
                        return last  # type: ignore[no-any-return]
                await asyncio.sleep(0.1)
    except TimeoutError:
        pytest.fail(f"{what}: not within {within} s")


async def sd_names(http: httpx.AsyncClient, replica: Replica) -> set[str]:
    """The target names a replica's /api/sd lists."""
    response = await http.get(f"{replica.url}/api/sd")
    response.raise_for_status()
    return {g["labels"]["__meta_exporterhub_target"] for g in response.json()}


async def placement(
    http: httpx.AsyncClient, replicas: list[Replica], names: list[str]
) -> dict[str, int] | None:
    """Each name's replica by /api/sd, once every name is on the one that owns it."""
    found: dict[str, int] = {}
    for replica in replicas:
        for name in await sd_names(http, replica):
            if name in found:
                return None  # listed twice: not settled (or wrong)
            found[name] = replica.index
    count = len(replicas)
    wanted = {name: owner("chaos", name, count) for name in names}
    return found if found == wanted else None


async def listed_all(http: httpx.AsyncClient, replica: Replica) -> bool | None:
    """True once the replica's API lists every target, each with its owner."""
    listed = (await http.get(f"{replica.url}/api/targets")).json()
    shards = {t["name"]: t["shard"] for t in listed}
    wanted = {n: owner("chaos", n, replica.count) for n in NAMES}
    return True if shards == wanted else None


def target_body(name: str, api_url: str) -> dict[str, Any]:
    return {
        "kind": "chaos",
        "name": name,
        "settings": {
            "control_login": "exmpl@a",
            "control_password": "demo-password",
            "api_url": api_url,
            "min_request_interval": 0,
        },
    }


def prometheus_config(replicas: list[Replica], rules: Path) -> dict[str, Any]:
    """One http_sd job per replica, one job scraping every replica's /metrics."""
    relabel = [
        {"source_labels": ["__meta_exporterhub_kind"], "target_label": "kind"},
        {"source_labels": ["__meta_exporterhub_target"], "target_label": "instance"},
    ]
    jobs: list[dict[str, Any]] = [
        {
            "job_name": f"replica-{r.index}",
            "http_sd_configs": [{"url": f"{r.url}/api/sd", "refresh_interval": "1s"}],
            "relabel_configs": relabel,
        }
        for r in replicas
    ]
    jobs.append(
        {
            "job_name": "exporterhub-replicas",
            "static_configs": [{"targets": [r.address for r in replicas]}],
        }
    )
    return {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(rules)],
        "scrape_configs": jobs,
    }


def shortened_rules(directory: Path) -> Path:
    """The shipped rules with every ``for:`` at 2 s (minutes are too long here)."""
    spec = yaml.safe_load(RULES.read_text(encoding="utf-8"))
    for group in spec["groups"]:
        for rule in group["rules"]:
            assert rule.get("for"), rule["alert"]
            rule["for"] = "2s"
    path = directory / "replicas.yml"
    path.write_text(yaml.safe_dump(spec), encoding="utf-8")
    return path


async def once(server: httpx.AsyncClient, expr: str, label: str) -> dict[str, str]:
    """``label`` of each target's series of ``expr``; each target at most once."""
    series = await query(server, expr)
    found = [(s["metric"]["target"], s["metric"][label]) for s in series]
    assert len(found) == len(dict(found)), f"a target scraped twice: {found}"
    return dict(found)


async def scraped_once(
    server: httpx.AsyncClient, replicas: list[Replica]
) -> tuple[dict[str, str], dict[str, str]] | None:
    """Once every target is up: the job of its /probe scrape, and the replica
    whose /metrics has it (each target exactly once in each view)."""
    probed = await once(server, 'aaisp_up{job=~"replica-.*"} == 1', "job")
    whole = await once(server, 'aaisp_up{job="exporterhub-replicas"} == 1', "instance")
    shard_targets = await query(server, "exporterhub_shard_targets")
    if set(probed) != set(NAMES) or set(whole) != set(NAMES):
        return None
    if len(shard_targets) != len(replicas):
        return None
    return probed, whole


@pytest.mark.timeout(240)  # 8 process starts; slow on a loaded CI machine
async def test_three_replicas_share_the_targets(tmp_path, postgres_server, monkeypatch):
    """Each target scraped once, by its owner; a stopped replica darkens only
    its shard and pages; a fourth replica takes about a quarter; a target added
    anywhere starts on its owner within poll_interval."""
    binary = prometheus_binary()
    monkeypatch.setenv(KEY_ENV, generate_key().decode())
    database = await postgres_server.create_database()
    try:
        async with (
            ChaosSimulator(ChaosSimConfig(port=0)) as sim,
            cluster(tmp_path, postgres_server.url(database)) as hub,
            httpx.AsyncClient(timeout=10) as http,
        ):
            print(f"starting at {time.monotonic():.1f}")
            three = await hub.start(3)
            print(f"three serving at {time.monotonic():.1f}")
            answers = await asyncio.gather(  # written through every replica
                *(
                    http.post(
                        f"{three[i % 3].url}/api/targets",
                        json=target_body(name, sim.base_url),
                    )
                    for i, name in enumerate(NAMES)
                )
            )
            for name, response in zip(NAMES, answers, strict=True):
                assert response.status_code == 201, response.text
                assert response.json()["shard"] == owner("chaos", name, 3)
            before = await until(
                "each replica's /api/sd lists its own targets",
                lambda: placement(http, three, NAMES),
            )
            assert sorted(set(before.values())) == [0, 1, 2]
            for replica in three:  # the API lists all (after its poll)
                await until(
                    f"replica {replica.index}'s API lists every target",
                    lambda r=replica: listed_all(http, r),
                )

            await check_prometheus(binary, tmp_path, three, before, hub)
            print(f"prometheus stopped at {time.monotonic():.1f}")
            await check_fourth_replica(hub, http, before)
            await check_added_target(hub, http, sim.base_url)
    finally:
        await postgres_server.drop_database(database)


async def check_prometheus(
    binary: str,
    tmp_path: Path,
    three: list[Replica],
    before: dict[str, int],
    hub: Cluster,
) -> None:
    """Every target scraped once by its owner's job; stopping one pages for it."""
    rules = shortened_rules(tmp_path)
    config = prometheus_config(three, rules)
    async with prometheus(binary, tmp_path / "prometheus", config) as server:
        probed, whole = await until(
            "Prometheus scrapes every target exactly once",
            lambda: scraped_once(server, three),
            within=40,
        )
        assert probed == {name: f"replica-{before[name]}" for name in NAMES}
        assert whole == {name: three[before[name]].address for name in NAMES}
        counts = await query(server, "exporterhub_shard_targets")
        assert sorted(int(s["value"][1]) for s in counts) == sorted(
            list(before.values()).count(i) for i in range(3)
        )

        down = three[1]
        stop(down.proc)
        theirs = {n for n, i in before.items() if i == down.index}

        async def dark() -> dict[str, str] | None:
            ups = await query(server, 'up{job=~"replica-.*"}')
            state = {s["metric"]["instance"]: s["value"][1] for s in ups}
            wanted = {n: "0" if n in theirs else "1" for n in NAMES}
            return state if state == wanted else None

        await until("only the stopped replica's targets go down", dark)

        async def paged() -> list[dict[str, Any]] | None:
            alerts = await query(server, 'ALERTS{alertstate="firing"}')
            return alerts if alerts else None

        firing = await until("ExporterhubReplicaDown fires", paged)
        assert [
            (a["metric"]["alertname"], a["metric"]["instance"]) for a in firing
        ] == [("ExporterhubReplicaDown", down.address)]
    hub.replicas = [r for r in hub.replicas if r is not down]


async def check_fourth_replica(
    hub: Cluster, http: httpx.AsyncClient, before: dict[str, int]
) -> None:
    """Restarted as four, only the fourth's targets move: about a quarter."""
    hub.stop_all()
    print(f"three stopped at {time.monotonic():.1f}")
    four = await hub.start(4)
    print(f"four serving at {time.monotonic():.1f}")
    after = await until(
        "each of four replicas lists its own targets",
        lambda: placement(http, four, NAMES),
    )
    moved = {name for name in NAMES if after[name] != before[name]}
    assert {after[name] for name in moved} == {3}  # nothing moved among 0..2
    share, total = 1 / 4, len(NAMES)
    sigma = math.sqrt(total * share * (1 - share))
    assert abs(len(moved) - total * share) <= 2 * sigma, sorted(moved)


async def check_added_target(
    hub: Cluster, http: httpx.AsyncClient, api_url: str
) -> None:
    """A target added through one replica starts on its owner within the poll."""
    four = hub.replicas
    name = next(
        n for n in (f"added-{i}" for i in range(100)) if owner("chaos", n, 4) == 3
    )
    writer, owning = four[0], four[3]
    started = time.monotonic()
    response = await http.post(
        f"{writer.url}/api/targets", json=target_body(name, api_url)
    )
    assert response.status_code == 201, response.text
    assert response.json()["shard"] == 3

    async def running() -> bool | None:
        probe = await http.get(
            f"{owning.url}/probe", params={"target": f"chaos/{name}"}
        )
        return True if probe.status_code == 200 else None

    await until(f"{name} starts on replica 3", running, within=POLL_INTERVAL + MARGIN)
    elapsed = time.monotonic() - started
    assert name not in await sd_names(http, writer)
    assert name in await sd_names(http, owning)
    probe = await http.get(f"{writer.url}/probe", params={"target": f"chaos/{name}"})
    assert probe.status_code == 400
    assert elapsed <= POLL_INTERVAL + MARGIN
