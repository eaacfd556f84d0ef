"""Background work of a SafeGate node: scheduled child processes (work that would share the
GIL with the DNS hot path, such as scoring domains) and their outcome in one log line.

Which node runs the jobs is decided by the leader (``safegate.app.leader``): each job runs
once across all workers and nodes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass

from safegate.config import Settings

log = logging.getLogger(__name__)

CATEGORISE_TIMEOUT = 600.0  # a scheduled `safegate categorise-new` is stopped after this
CHILD_MESSAGE_LIMIT = 300  # characters of a child's output quoted in the log


@dataclass(frozen=True, slots=True)
class Job:
    """A command the gate runs as a child process ``interval`` seconds after its previous
    run ended (so one run at a time), stopped after ``timeout`` seconds. Work that would
    share the GIL with the DNS hot path (scoring domains, building an index) runs this way."""

    name: str
    argv: tuple[str, ...]
    interval: float
    timeout: float


@dataclass(frozen=True, slots=True)
class ChildRun:
    """How one run of a job ended: ``returncode`` None when it was stopped at its timeout."""

    returncode: int | None
    stdout: str
    stderr: str
    seconds: float

    @property
    def ok(self) -> bool:
        return self.returncode == 0


def scheduled_jobs(settings: Settings) -> list[Job]:
    """The child processes the settings ask the gate to run (``urls.categorise_interval``)."""
    interval = settings["urls.categorise_interval"]
    if not interval:
        return []
    argv = [sys.executable, "-m", "safegate.cli", "categorise-new"]
    if settings["urls.categorise_fetch"]:
        argv.append("--fetch")
    return [Job("categorise-new", tuple(argv), interval, CATEGORISE_TIMEOUT)]


def describe_run(job: Job, run: ChildRun) -> str:
    """One log line for a finished run: the command's last line of output (its summary), or
    why it failed."""
    def last(text: str, prefix: str = "") -> str:
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        marked = [line for line in lines if prefix and line.startswith(prefix)]
        return (marked or lines or [""])[-1][:CHILD_MESSAGE_LIMIT]

    took = f"{run.seconds:.1f} s"
    if run.returncode is None:
        return f"{job.name}: stopped after {took} (timeout {job.timeout:g} s)"
    if run.ok:
        return f"{job.name}: {last(run.stdout) or 'done'} ({took})"
    why = last(run.stderr, "Error:") or last(run.stdout) or "no output"
    return f"{job.name}: failed with exit status {run.returncode} after {took}: {why}"


async def _kill_and_reap(proc: asyncio.subprocess.Process) -> None:
    """Kill a child and wait until it is gone. A cancel during that wait still waits (a
    killed process ends at once): a child killed but not reaped would linger as a zombie."""
    with contextlib.suppress(ProcessLookupError):
        proc.kill()
    try:
        await proc.wait()
    except asyncio.CancelledError:
        await proc.wait()
        raise


async def run_child(job: Job, env: Mapping[str, str]) -> ChildRun:
    """Run ``job`` once as a child process and wait for it (at most ``job.timeout``; then it
    is killed). Cancelling the wait kills the child too."""
    started = time.monotonic()
    spawn = asyncio.ensure_future(asyncio.create_subprocess_exec(
        *job.argv, env=dict(env), stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        start_new_session=True))  # a Ctrl-C at the terminal is for the gate; it stops the child
    try:
        proc = await asyncio.shield(spawn)
    except asyncio.CancelledError:
        # Cancelled while the child was starting: the child may exist already (uvloop then
        # kills it but nothing reaps it). Let the start finish, then kill and reap it.
        with contextlib.suppress(Exception):
            await _kill_and_reap(await spawn)
        raise
    try:
        out, err = await asyncio.wait_for(proc.communicate(), job.timeout)
    except TimeoutError:
        await _kill_and_reap(proc)
        return ChildRun(None, "", "", time.monotonic() - started)
    except BaseException:  # cancelled: the gate is stopping, and no child outlives it
        await _kill_and_reap(proc)
        raise
    assert proc.returncode is not None
    return ChildRun(proc.returncode, out.decode("utf-8", "replace"),
                    err.decode("utf-8", "replace"), time.monotonic() - started)


async def run_schedule(job: Job, env: Mapping[str, str]) -> None:
    """Run ``job`` every ``job.interval`` seconds (after each run ends, so never two at once)
    and log each outcome in one line, forever; a failing run is logged, never raised."""
    while True:
        await asyncio.sleep(job.interval)
        try:
            run = await run_child(job, env)
        except Exception as exc:  # e.g. the interpreter cannot be started
            log.error("%s: cannot run: %s", job.name, exc)
            continue
        if run.ok:
            log.info("%s", describe_run(job, run))
        else:
            log.error("%s", describe_run(job, run))
