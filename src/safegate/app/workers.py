"""Several gate processes on one port (SO_REUSEPORT), under a small supervisor.

Python answers queries on one core per process; a busy resolver uses more. The
supervisor migrates the store and builds the domain index once, then forks the workers,
which share the index's pages until they reload. It forwards SIGHUP (reload) and SIGTERM
(stop) to every worker and replaces a worker that dies. Changes reach the workers through
the change bus; SIGHUP is for an operator's `kill -HUP`, and at no moment does it kill a
worker or the supervisor.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import sys
import time
from typing import Any

from safegate.app.core import App
from safegate.app.gate_process import (
    GateProcess,
    WebStarter,
    announce_demo_sign_in,
    run_loop,
)
from safegate.app.memory import release_memory
from safegate.config import Settings

log = logging.getLogger(__name__)

EARLY_EXIT_SECONDS = 5.0  # a worker that dies this soon after its start will not recover
HANDLED = (signal.SIGHUP, signal.SIGTERM, signal.SIGINT)


def supervise(settings: Settings, workers: int, *, demo: bool = False,
              web: WebStarter | None = None) -> None:
    host, port = settings.dns_address
    if port == 0:
        raise OSError("gate.workers > 1 needs a fixed port (not 0)")
    children: dict[int, tuple[int, float]] = {}  # pid → (worker number, started)
    stopping = False

    def forward(signum: int, _frame: Any) -> None:
        nonlocal stopping
        if signum in (signal.SIGTERM, signal.SIGINT):
            stopping = True
            signum = signal.SIGTERM
        for pid in list(children):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signum)

    # First of all: a SIGHUP during the (seconds-long) preparation must not kill us.
    for signum in HANDLED:
        signal.signal(signum, forward)
    prepared = App(settings)
    prepared.migrate()
    if demo:
        prepared.create_demo_household()
        announce_demo_sign_in(prepared)
    index = prepared.load_index()
    prepared.close()  # children open their own connections
    release_memory()
    if stopping:
        return

    def spawn(number: int) -> None:
        # Signals wait while we fork, so that the child never runs the supervisor's handler
        # and the parent never misses a child it has not registered yet.
        signal.pthread_sigmask(signal.SIG_BLOCK, HANDLED)
        pid = os.fork()
        if pid == 0:  # the worker
            # Until the worker's loop handles SIGHUP itself, one is ignored rather than
            # fatal; the worker reads the newest policy as it starts anyway.
            signal.signal(signal.SIGHUP, signal.SIG_IGN)
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            signal.pthread_sigmask(signal.SIG_UNBLOCK, HANDLED)
            code = 0
            try:
                run_loop(GateProcess(App(settings), reuse_port=True, preloaded_index=index,
                                     worker=number, migrate=False, web=web))
            except BaseException as exc:  # noqa: BLE001 - report, never a traceback
                if not isinstance(exc, KeyboardInterrupt | SystemExit):
                    print(f"safegate worker {number}: {exc}", file=sys.stderr)
                    code = 1
            finally:
                os._exit(code)
        children[pid] = (number, time.monotonic())
        signal.pthread_sigmask(signal.SIG_UNBLOCK, HANDLED)

    for number in range(workers):
        spawn(number)
    log.info("supervisor %d: %d gate workers on %s:%d", os.getpid(), workers, host, port)
    failed = False
    while children:
        try:
            pid, status = os.wait()
        except ChildProcessError:
            break
        number, started = children.pop(pid, (-1, 0.0))
        if stopping or number < 0:
            continue
        code = os.waitstatus_to_exitcode(status)
        if time.monotonic() - started < EARLY_EXIT_SECONDS:
            log.error("worker %d exited at start (code %d); stopping", number, code)
            failed = True
            forward(signal.SIGTERM, None)
            continue
        log.error("worker %d exited (code %d); starting it again", number, code)
        spawn(number)
    if failed:
        raise OSError("a gate worker could not start (see the log above)")
