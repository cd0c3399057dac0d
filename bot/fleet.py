"""Several replicas as one bot: one reload for the fleet, one handling per update.

All replicas mount the same corpus and index folders. A reload (an admin's /reload, an
upload, a removal) on any replica takes the fleet's reload lock in Redis, builds the new
index into the shared index folder (retrieval/rebuild.py writes it atomically), then
publishes its version: the generation (the corpus key) and the pipeline that built it.
Every replica polls the published version each second and, when it differs from the
index it serves, maps the persisted index (Engine.open: the corpus listing matches the
saved one, so nothing is rebuilt) and swaps it in; until then it answers from the old
one. A builder that dies mid-build leaves no half-written index, and its lock expires
LOCK_TTL seconds after its last renewal.

A replica whose analysis pipeline differs from the published one (another release)
refuses to serve: at start-up it exits with both versions named, and mid-run it stops.
One whose corpus reads differently (another mount) tries the fleet's version and, when
it cannot get it, says why and exits too.

Updates (webhook mode): each `update_id` is claimed in Redis before it is handled (see
`FleetDelivery`), so an update Telegram re-posts is handled once across the fleet.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, Protocol

from telegram import Update
from telegram.ext import Application

from bot.shared_state import (
    BUSY,
    DONE,
    RUNNING_TTL,
    SharedLock,
    SharedRedis,
    Unavailable,
    UpdateLedger,
)
from bot.webhook import Refused
from retrieval.backend import SearchBackend
from retrieval.engine import ProgressFactory, ReloadFailed, ReloadInProgress, ReloadReport
from retrieval.normalize import PIPELINE_VERSION
from retrieval.store import FORMAT_VERSION

log = logging.getLogger(__name__)

POLL_INTERVAL = 1.0  # seconds between looks at the fleet's published version
HANDLE_WAIT = 5.0  # seconds a webhook post waits for its update to be handled before 200
RENEW_EVERY = RUNNING_TTL / 3  # running marks and the reload lock are renewed this often


class FleetMismatch(Exception):
    """This replica cannot serve what the fleet serves; the message says why and what to do."""


class Reloads(Protocol):
    """How the handlers reload: this process alone, or the fleet."""

    async def running(self) -> bool: ...

    async def reload(self, progress: ProgressFactory | None = None) -> ReloadReport: ...


class LocalReloads:
    """One process: Engine.reload in a worker thread, its own lock as the guard."""

    def __init__(self, engine: SearchBackend) -> None:
        self.engine = engine

    async def running(self) -> bool:
        return self.engine.reloading

    async def reload(self, progress: ProgressFactory | None = None) -> ReloadReport:
        return await asyncio.to_thread(self.engine.reload, progress)


def pipeline_of(engine: SearchBackend) -> str:
    """What must be equal for two replicas to give the same answers from the same corpus."""
    params = getattr(engine, "params", None)
    bm25 = f", bm25 k1={params.k1} b={params.b}" if params is not None else ""
    return f"format {FORMAT_VERSION}, analysis {PIPELINE_VERSION}{bm25}"


def replica_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass(frozen=True, slots=True)
class Version:
    """The index version the fleet serves, as published in Redis."""

    generation: str
    pipeline: str
    replica: str
    published_at: float

    @classmethod
    def from_json(cls, raw: bytes | str) -> Version | None:
        try:
            return cls(**json.loads(raw))
        except (ValueError, TypeError):
            return None


class Fleet:
    """This replica's part in the fleet: the reload lock, the published version, the
    update ledger."""

    def __init__(
        self,
        engine: SearchBackend,
        shared: SharedRedis,
        replica: str | None = None,
        pipeline: str | None = None,
        poll_interval: float = POLL_INTERVAL,
    ) -> None:
        self.engine = engine
        self.shared = shared
        self.replica = replica or replica_name()
        self.pipeline = pipeline or pipeline_of(engine)
        self.poll_interval = poll_interval
        self.lock = SharedLock(shared, "reload")
        self.ledger = UpdateLedger(shared, self.replica)
        self.version_key = shared.key("version")
        self.fatal: str | None = None  # why this replica stopped serving, if it did
        self._unpublished = False  # a reload made while Redis was down
        self._warned: set[str] = set()

    # --- the version ---------------------------------------------------------------

    def own(self) -> Version:
        return Version(self.engine.snapshot.generation, self.pipeline, self.replica, time.time())

    async def published(self) -> Version | None:
        raw = await self.shared.run(lambda client: client.get(self.version_key))
        return Version.from_json(raw) if raw is not None else None

    async def publish(self, only_if_none: bool = False) -> None:
        value = json.dumps(asdict(self.own()))
        await self.shared.run(
            lambda client: client.set(self.version_key, value, nx=only_if_none or None)
        )

    async def start(self) -> None:
        """Check this replica against the fleet before serving; FleetMismatch if it cannot."""
        log.info(
            "fleet: replica %s, shared state in Redis at %s", self.replica, self.shared.address
        )
        try:
            fleet = await self.published()
            if fleet is None:
                await self.publish(only_if_none=True)
                return
        except Unavailable:
            log.warning(
                "fleet: cannot read the fleet's index version yet; checked once Redis is back"
            )
            return
        self._check_pipeline(fleet)
        if fleet.generation != self.engine.snapshot.generation:
            await self._follow(fleet)
            if fleet.generation != self.engine.snapshot.generation:
                raise FleetMismatch(self._cannot_follow(fleet))

    def _check_pipeline(self, fleet: Version) -> None:
        if fleet.pipeline != self.pipeline:
            raise FleetMismatch(
                f"this replica's pipeline ({self.pipeline}) is not the fleet's "
                f"({fleet.pipeline}, published by {fleet.replica}): its answers would differ; "
                "run one release on every replica (to move the whole fleet to this one, "
                f"stop the others and delete the Redis key {self.version_key})"
            )

    def _cannot_follow(self, fleet: Version) -> str:
        return (
            f"cannot load the fleet's index {fleet.generation} (published by {fleet.replica}): "
            f"this replica's corpus reads as {self.engine.snapshot.generation}; every replica "
            f"must mount the same corpus ({self.engine.corpus_dir}) and index folders, and an "
            "admin's /reload makes the fleet take the corpus as it is now"
        )

    async def _follow(self, fleet: Version) -> None:
        """Map the published index (the builder saved it in the shared index folder)."""
        started = time.perf_counter()
        try:
            await asyncio.to_thread(self.engine.open)
        except ReloadInProgress:
            return  # this replica is reloading; it looks again afterwards
        except ReloadFailed as exc:
            log.warning("fleet: could not load the published index: %s", exc)
            return
        if self.engine.snapshot.generation == fleet.generation:
            log.info(
                "fleet: now serving %s (published by %s) after %.2f s",
                fleet.generation,
                fleet.replica,
                time.perf_counter() - started,
            )

    # --- watching --------------------------------------------------------------------

    async def watch(self, stop: Callable[[], Any]) -> None:
        """Follow the published version until cancelled; `stop()` the bot on a mismatch."""
        while True:
            await asyncio.sleep(self.poll_interval)
            try:
                await self.check_once()
            except FleetMismatch as exc:
                self.fatal = str(exc)
                log.error("fleet: %s; stopping", exc)
                stop()
                return
            except Unavailable:
                continue

    async def check_once(self) -> None:
        """One look at the published version: publish, follow, or raise FleetMismatch."""
        fleet = await self.published()
        if fleet is None or self._unpublished:
            await self.publish()
            self._unpublished = False
            return
        self._check_pipeline(fleet)
        if fleet.generation == self.engine.snapshot.generation or self.engine.reloading:
            return
        await self._follow(fleet)
        stuck = fleet.generation != self.engine.snapshot.generation
        if stuck and fleet.generation not in self._warned:  # once per published version
            self._warned.add(fleet.generation)
            log.warning("fleet: %s", self._cannot_follow(fleet))

    # --- reloading ---------------------------------------------------------------------

    async def running(self) -> bool:
        return self.engine.reloading or await self.lock.held_elsewhere()

    async def reload(self, progress: ProgressFactory | None = None) -> ReloadReport:
        """Reload under the fleet's lock and publish the result; ReloadInProgress when
        another replica holds the lock. Without Redis: a local reload, published later."""
        try:
            taken = await self.lock.acquire()
        except Unavailable:
            log.warning(
                "fleet: Redis unreachable; reloading this replica alone (others follow later)"
            )
            report = await asyncio.to_thread(self.engine.reload, progress)
            self._unpublished = True
            return report
        if not taken:
            raise ReloadInProgress("another replica is reloading")
        renewing = asyncio.create_task(self._renew_lock())
        try:
            report = await asyncio.to_thread(self.engine.reload, progress)
            try:
                await self.publish()
            except Unavailable:
                self._unpublished = True
            log.info("fleet: published index %s", report.after.generation)
            return report
        finally:
            renewing.cancel()
            await self.lock.release()

    async def _renew_lock(self) -> None:
        while True:
            await asyncio.sleep(RENEW_EVERY)
            await self.lock.renew()


class FleetDelivery:
    """Webhook delivery that handles each update once across the fleet.

    The update is claimed in Redis ("running", RUNNING_TTL seconds, renewed while it is
    handled) and marked "done" afterwards; the post is answered 200 once it is handled
    (or after HANDLE_WAIT seconds, when handling goes on regardless). A re-post of a
    done update gets 200 and nothing else. A re-post of one that another replica is
    handling gets 503, so Telegram posts it again later: by then it is done (200), or
    its replica died and the mark expired, and this replica handles it. The one case
    that answers twice: a replica killed after its reply left but before the "done"
    mark was written (a few milliseconds).
    """

    def __init__(self, application: Application, ledger: UpdateLedger) -> None:
        self.application = application
        self.ledger = ledger
        self._tasks: set[asyncio.Task[None]] = set()

    async def __call__(self, data: dict[str, Any]) -> None:
        update_id = data["update_id"]
        claim = await self.ledger.claim(update_id)
        if claim == DONE:
            log.info("update %s was handled already; acknowledged again", update_id)
            return
        if claim == BUSY:
            raise Refused(503, "update being handled by another replica")
        try:
            update = Update.de_json(data, self.application.bot)
        except Exception:
            await self.ledger.release(update_id)
            raise
        task = asyncio.create_task(self._handle(update))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        await asyncio.wait({task}, timeout=HANDLE_WAIT)

    async def drain(self, timeout: float = HANDLE_WAIT) -> None:
        """Let updates being handled finish (at shutdown), for at most `timeout` seconds;
        any still running then are given back (`release`) as they are cancelled."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=timeout)
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _handle(self, update: Update) -> None:
        renewing = asyncio.create_task(self._renew(update.update_id))
        application = self.application
        try:
            await application.update_processor.process_update(
                update, application.process_update(update)
            )
        except asyncio.CancelledError:
            with contextlib.suppress(Exception):
                await asyncio.shield(self.ledger.release(update.update_id))
            raise
        finally:
            renewing.cancel()
        await self.ledger.done(update.update_id)

    async def _renew(self, update_id: int) -> None:
        while True:
            await asyncio.sleep(RENEW_EVERY)
            await self.ledger.renew(update_id)
