"""Rebuilding the index in a child process, so the serving process keeps its GIL.

A reload reads changed files, merges millions of postings and derives the context
field and n-gram map: Python work that, in the bot's own process, competes with the
questions answered meanwhile (a p95 of 68 ms and stalls of 0.6 s at a million
sentences for a full rebuild). Here a spawned child process runs the job the engine
hands it (a module-level function: this module does not import the engine, so
there is no import circle) that reads, analyzes, merges and saves the index to the
index folder; the parent only maps the saved arrays and swaps. The child sends its
progress ticks and its outcome over a queue; it shares nothing else with the parent.

When the index folder cannot be written, the child saves into a temporary folder
instead, the parent maps it and deletes the folder at once (the mapped files stay
readable until unmapped), so an unwritable cache still serves the new corpus.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import queue
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass

from retrieval.index import BM25Params, SentenceIndex
from retrieval.models import Problem
from retrieval.store import load_index, save_index

# Given the number of documents to index, returns a callback ticked as documents are indexed.
ProgressFactory = Callable[[int], Callable[[int], None]]
# How often the parent checks that a silent child is still alive.
_POLL_SECONDS = 0.5
# The rebuild (and the analysis workers it starts, which inherit it) yields the CPU
# to the serving process: on 2 cores, 2 busy workers at equal priority took two
# thirds of the CPU from the questions answered meanwhile (p95 59 ms instead of 27).
REBUILD_NICENESS = 10


class RebuildFailed(Exception):
    """The child could not produce an index; the message says why."""


@dataclass(frozen=True, slots=True)
class Rebuilt:
    """What the child built: the saved index's folder and key, and how it went."""

    folder: str  # cache folder holding <key>/ (a temporary one when the cache failed)
    key: str
    problems: list[Problem]
    from_cache: bool
    cache_error: str | None
    temporary: bool


def rebuild(
    job: Callable[..., Rebuilt],
    args: tuple,
    params: BM25Params,
    progress: ProgressFactory | None = None,
) -> tuple[SentenceIndex, Rebuilt]:
    """Run `job(*args, progress)` in a child process; map the index it saved here.

    `job` is a module-level function (the child imports it by name; this module
    knows nothing of the engine that uses it) that builds and saves an index and
    returns where, or raises RebuildFailed. Raises RebuildFailed with the child's
    reason when it produced no index.
    """
    context = multiprocessing.get_context("spawn")  # fork is unsafe in a threaded bot
    messages = context.Queue()
    child = context.Process(
        target=_child,
        args=(job, args, messages),
        name="coverage-bot-rebuild",
    )
    child.start()
    try:
        outcome = _follow(child, messages, progress)
    finally:
        child.join()
        messages.close()
    if isinstance(outcome, str):
        raise RebuildFailed(outcome)
    try:
        index = load_index(outcome.folder, outcome.key, params)
    except Exception as exc:  # the child saved it moments ago: the disk changed under us
        raise RebuildFailed(f"the rebuilt index could not be opened: {exc}") from exc
    finally:
        if outcome.temporary:
            shutil.rmtree(outcome.folder, ignore_errors=True)  # mapped files stay readable
    return index, outcome


def _follow(
    child: multiprocessing.process.BaseProcess,
    messages: multiprocessing.queues.Queue,
    progress: ProgressFactory | None,
) -> Rebuilt | str:
    """Relay the child's progress until it reports its outcome (a Rebuilt, or a reason)."""
    tick: Callable[[int], None] | None = None
    while True:
        try:
            kind, value = messages.get(timeout=_POLL_SECONDS)
        except queue.Empty:
            if child.is_alive():
                continue
            try:  # it may have reported just before exiting
                kind, value = messages.get(timeout=_POLL_SECONDS)
            except queue.Empty:
                return f"the index build process stopped (exit code {child.exitcode})"
        if kind == "total":
            tick = progress(value) if progress else None
        elif kind == "tick":
            if tick is not None:
                tick(value)
        else:
            return value


def _child(job: Callable[..., Rebuilt], args: tuple, messages: multiprocessing.Queue) -> None:
    """The child's whole job: run `job`, relaying its progress, and report its outcome."""

    def progress(total: int) -> Callable[[int], None]:
        messages.put(("total", total))
        return lambda count: messages.put(("tick", count))

    started = time.perf_counter()
    with contextlib.suppress(OSError):  # if not permitted, it competes at equal priority
        os.nice(REBUILD_NICENESS)
    try:
        outcome: Rebuilt | str = job(*args, progress)
    except RebuildFailed as exc:
        outcome = str(exc)
    except Exception as exc:  # reported to the admin; the old index keeps serving
        outcome = f"{type(exc).__name__}: {exc} (after {time.perf_counter() - started:.1f} s)"
    messages.put(("done", outcome))


def save_elsewhere(index: SentenceIndex) -> str:
    """Save `index` into a new temporary cache folder (the index folder could not take it)."""
    folder = tempfile.mkdtemp(prefix="coverage-bot-index-")
    save_index(index, folder)
    return folder
