"""Several gate processes on one port (SO_REUSEPORT), under a small supervisor.

Python answers queries on one core per process; a busy resolver uses more. The
supervisor prepares the store and builds the domain index once, then forks the workers,
which share the index's pages until they reload. It forwards SIGHUP (reload) and SIGTERM
(stop) to every worker and replaces a worker that dies.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import sys
import time
from typing import Any

from safegate.config import Settings
from safegate.gate.runtime import PID_FILE, Runtime, release_memory, run_loop

log = logging.getLogger(__name__)

EARLY_EXIT_SECONDS = 5.0  # a worker that dies this soon after its start will not recover


def supervise(settings: Settings, workers: int, *, demo: bool = False) -> None:
    host, port = settings.dns_address
    if port == 0:
        raise OSError("gate.workers > 1 needs a fixed port (not 0)")
    prepared = Runtime(settings)
    prepared.open_store(demo)
    index = prepared.load_index()
    if prepared.engine is not None:
        prepared.engine.dispose()  # children open their own connections
    release_memory()

    children: dict[int, tuple[int, float]] = {}  # pid → (worker number, started)
    stopping = False

    def spawn(number: int) -> None:
        pid = os.fork()
        if pid == 0:  # the worker
            signal.signal(signal.SIGHUP, signal.SIG_DFL)
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            code = 0
            try:
                run_loop(Runtime(settings, reuse_port=True, preloaded_index=index,
                                 worker=number))
            except BaseException as exc:  # noqa: BLE001 - report, never a traceback
                if not isinstance(exc, KeyboardInterrupt | SystemExit):
                    print(f"safegate worker {number}: {exc}", file=sys.stderr)
                    code = 1
            finally:
                os._exit(code)
        children[pid] = (number, time.monotonic())

    def forward(signum: int, _frame: Any) -> None:
        nonlocal stopping
        if signum in (signal.SIGTERM, signal.SIGINT):
            stopping = True
            signum = signal.SIGTERM
        for pid in list(children):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signum)

    signal.signal(signal.SIGHUP, forward)
    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    for number in range(workers):
        spawn(number)
    pid_file = settings.data_dir / PID_FILE
    pid_file.write_text(str(os.getpid()))
    log.info("supervisor %d: %d gate workers on %s:%d", os.getpid(), workers, host, port)
    failed = False
    try:
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
    finally:
        pid_file.unlink(missing_ok=True)
    if failed:
        raise OSError("a gate worker could not start (see the log above)")
