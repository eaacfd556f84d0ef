"""Assemble and run the gate from settings: lists → index, store → policy snapshot,
listeners, upstream pool, query-log writer, retention purge, scheduled child processes,
reload on SIGHUP."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import ctypes.util
import gc
import ipaddress
import logging
import os
import signal
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from safegate.config import ConfigError, Settings, child_environ
from safegate.gate.answers import BlockStyle
from safegate.gate.cache import AnswerCache
from safegate.gate.querylog import QueryLog
from safegate.gate.server import Gate, GateOptions, start_listeners
from safegate.gate.upstream import UpstreamPool
from safegate.lists.index import DomainIndex, build_index
from safegate.lists.psl import embedded_psl
from safegate.lists.sources import ListSpec, custom_specs, embedded_specs
from safegate.policy.compiled import DefaultPolicy, PolicySnapshot, compile_snapshot

log = logging.getLogger(__name__)

PID_FILE = "safegate.pid"
SOURCE_CHECK_SECONDS = 300
SEEN_FLUSH_SECONDS = 30  # how often subscribed list sources are checked for being due
PURGE_SECONDS = 3600  # how often rows past their retention are deleted
CATEGORISE_TIMEOUT = 600.0  # a scheduled `safegate categorise-new` is stopped after this
CHILD_MESSAGE_LIMIT = 300  # characters of a child's output quoted in the log


def signal_reload(data_dir: Path) -> int:
    """Ask the server running on ``data_dir`` to reload (SIGHUP); returns its pid.
    Raises OSError or ValueError when no server is found through the pid file."""
    pid = int((data_dir / PID_FILE).read_text().strip())
    os.kill(pid, signal.SIGHUP)
    return pid


def list_specs(settings: Settings, engine: Any = None) -> list[ListSpec]:
    """Embedded lists, operator files from the settings, and subscribed sources."""
    specs: list[ListSpec] = embedded_specs() if settings["gate.default_lists"] else []
    specs += custom_specs([Path(p) for p in settings["gate.blocklists"]])
    if engine is not None:
        from safegate.lists.auto import export_specs
        from safegate.lists.registry import store_specs
        from safegate.store.db import session_factory

        with session_factory(engine).begin() as session:
            specs += store_specs(session, settings.data_dir)
            specs += export_specs(session, settings.data_dir)
    return specs


def lists_signature(specs: Sequence[ListSpec]) -> tuple[Any, ...]:
    """Changes when any list file changes (or appears, or disappears)."""
    out: list[tuple[str, int | None, int | None]] = []
    for spec in specs:
        try:
            st = spec.path.stat()
            out.append((str(spec.path), st.st_mtime_ns, st.st_size))
        except OSError:
            out.append((str(spec.path), None, None))
    return tuple(out)


# What every client that is not a child's device gets unless the operator says otherwise:
# harm to anyone, not a child's screen-time rules (a parent's phone is such a client too).
BASELINE_CATEGORIES = ("adult", "gambling", "drugs", "violence", "weapons", "self_harm",
                       "hate", "scam", "malware", "cults")


def default_policy(settings: Settings) -> DefaultPolicy:
    cats = settings["policy.default_categories"]
    if cats is None:
        cats = list(BASELINE_CATEGORIES)
    return DefaultPolicy(
        blocked_categories=tuple(cats),
        block_mode=settings["gate.block_mode"],
        log_level=settings["policy.default_log_level"],
    )


def load_profiles_from_store(engine: Any) -> list[Any]:
    from safegate.store.db import session_factory
    from safegate.store.repo import load_profiles

    with session_factory(engine)() as session:
        return list(load_profiles(session))


M_ARENA_MAX = -8  # glibc mallopt parameter


def one_malloc_arena() -> None:
    """Let every thread allocate from glibc's main arena. The index is built in a worker
    thread; with per-thread arenas its freed temporaries stay resident (measured: 28
    instead of 14 bytes per list domain), because ``malloc_trim`` cannot shrink a thread
    arena's heap past fragments. Call before any thread starts."""
    with contextlib.suppress(OSError, AttributeError):
        _libc().mallopt(M_ARENA_MAX, 1)


def _libc() -> Any:
    return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")


def release_memory() -> None:
    """Give memory freed after an index build back to the OS. glibc keeps freed heap
    pages (and raises its mmap threshold after large frees), so without a trim the
    build's temporaries would stay in the resident set."""
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):
        _libc().malloc_trim(0)


def _tune_gc() -> None:
    """Cache misses allocate many small objects (memo entries, log records). With the
    default thresholds that triggers a young-generation collection every 700 allocations
    and regular full collections over the memo; freezing what exists at start and raising
    the thresholds keeps collection work off the query path."""
    release_memory()
    gc.freeze()
    gc.set_threshold(50_000, 50, 100)


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


@dataclass
class Runtime:
    settings: Settings
    engine: Any = None
    gate: Gate | None = None
    index: DomainIndex | None = None
    signature: tuple[Any, ...] = ()
    generation: int = 0
    port: int = 0
    closers: list[Any] = field(default_factory=list)
    stopping: asyncio.Event | None = None
    reload_lock: asyncio.Lock | None = None
    background: set[asyncio.Task[Any]] = field(default_factory=set)
    reuse_port: bool = False  # several worker processes share the port (SO_REUSEPORT)
    preloaded_index: DomainIndex | None = None  # built by the supervisor before forking
    worker: int | None = None
    notify_ready: asyncio.Event | None = None

    def open_store(self, demo: bool) -> None:
        from safegate.store.db import make_engine, migrate, session_factory

        self.engine = make_engine(self.settings.database_url)
        migrate(self.engine)
        if demo:
            from safegate.store.repo import create_demo_household

            with session_factory(self.engine).begin() as session:
                create_demo_household(session)

    def build_snapshot(self, index: DomainIndex) -> PolicySnapshot:
        profiles = load_profiles_from_store(self.engine) if self.engine is not None else []
        self.generation += 1
        return compile_snapshot(index, profiles, default_policy(self.settings), self.generation)

    def load_index(self) -> DomainIndex:
        specs = list_specs(self.settings, self.engine)
        self.signature = lists_signature(specs)
        index = build_index(specs, embedded_psl())
        for loaded in index.lists:
            if loaded.error:
                log.error("list %s: %s", loaded.spec.key, loaded.error)
        return index

    async def reload(self) -> str:
        """Re-read policy (and the lists, if any list file changed) and swap."""
        assert self.gate is not None and self.reload_lock is not None
        async with self.reload_lock:
            loop = asyncio.get_running_loop()
            specs = await loop.run_in_executor(None, list_specs, self.settings, self.engine)
            index = self.index
            rebuilt = False
            if lists_signature(specs) != self.signature or index is None:
                new_index = await loop.run_in_executor(None, build_index, specs, embedded_psl())
                broken = [x for x in new_index.lists if x.error]
                if broken and index is not None:
                    names = ", ".join(f"{b.spec.key} ({b.error})" for b in broken)
                    log.error("reload kept the previous lists: %s", names)
                else:
                    self.signature = lists_signature(specs)
                    index = new_index
                    rebuilt = True
            assert index is not None
            snapshot = await loop.run_in_executor(None, self.build_snapshot, index)
            old = self.index
            self.index = index
            self.gate.swap(snapshot)
            del old
            _tune_gc()
            what = f"generation {snapshot.generation}: {len(snapshot.profiles)} profiles, " \
                   f"{index.size} names" + (" (lists rebuilt)" if rebuilt else "")
            log.info("reloaded %s", what)
            return what

    async def start(self, *, demo: bool = False) -> int:
        s = self.settings
        started = time.perf_counter()
        self.stopping = asyncio.Event()
        self.reload_lock = asyncio.Lock()
        data_dir = s.data_dir
        data_dir.mkdir(parents=True, exist_ok=True)
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, self.open_store, demo)
        if self.preloaded_index is not None:
            self.index, self.preloaded_index = self.preloaded_index, None
        else:
            self.index = await loop.run_in_executor(None, self.load_index)
        snapshot = await loop.run_in_executor(None, self.build_snapshot, self.index)
        pool = UpstreamPool(s["gate.upstreams"], s["gate.upstream_timeout"],
                            s["gate.health_interval"])
        cache = AnswerCache(s["gate.cache_size"], s["gate.stale_max_age"])
        sink = None
        if s["querylog.enabled"] and self.engine is not None:
            from safegate.store.querylog import insert_query_logs

            engine = self.engine

            def sink(rows: Sequence[Any]) -> int:
                return insert_query_logs(engine, rows)

        querylog = QueryLog(sink, s["querylog.ring_size"], s["querylog.flush_interval"])
        options = GateOptions(
            allowed_networks=tuple(
                ipaddress.ip_network(n, strict=False) for n in s["gate.allowed_networks"]
            ),
            rate_limit_qps=s["gate.rate_limit_qps"],
            rate_limit_burst=s["gate.rate_limit_burst"],
            max_ttl=s["gate.max_ttl"],
            max_negative_ttl=s["gate.max_negative_ttl"],
            serve_stale=s["gate.serve_stale"],
            style=BlockStyle.from_settings(s["gate.block_ttl"], s["gate.blockpage_ipv4"],
                                           s["gate.blockpage_ipv6"]),
            memo_size=max(1000, s["gate.cache_size"]),
            tcp_idle_timeout=s["gate.tcp_idle_timeout"],
            max_tcp_connections=s["gate.max_tcp_connections"],
            max_tcp_per_address=s["gate.max_tcp_per_address"],
            trusted_forwarders=tuple(ipaddress.ip_network(n, strict=False)
                                     for n in s["gate.trusted_forwarders"]),
        )
        self.gate = Gate(snapshot, pool, cache, querylog, options)
        host, port = s.dns_address
        closers, self.port = await start_listeners(self.gate, host, port,
                                                   reuse_port=self.reuse_port)
        self.closers = list(closers)
        pool.start()
        querylog.start()
        self._spawn(self._purge_loop())
        self._spawn(self._source_update_loop())
        self._spawn(self._seen_domains_loop())
        self._start_jobs()
        if s["server.notify_url"]:
            self.notify_ready = asyncio.Event()
            self._spawn(self._notify_loop())
        if self.worker is None:
            (data_dir / PID_FILE).write_text(str(os.getpid()))
        _tune_gc()
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(signal.SIGHUP, lambda: self._spawn(self._reload_logged()))
            loop.add_signal_handler(signal.SIGTERM, self.stopping.set)
            loop.add_signal_handler(signal.SIGINT, self.stopping.set)
        log.info(
            "SafeGate gate%s listening on udp/tcp %s:%d with %d list names, %d profiles "
            "(ready in %.1f s)", "" if self.worker is None else f" worker {self.worker}",
            host, self.port, self.index.size, len(snapshot.profiles),
            time.perf_counter() - started,
        )
        return self.port

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self.background.add(task)
        task.add_done_callback(self.background.discard)

    async def _reload_logged(self) -> None:
        try:
            await self.reload()
        except Exception:
            log.exception("reload failed; the previous policy stays in force")

    def _start_jobs(self) -> None:
        """Start the scheduled child processes: in one process only (not in every worker)."""
        if self.worker not in (None, 0):
            return
        for job in scheduled_jobs(self.settings):
            try:
                env = child_environ(self.settings, os.environ)
            except ConfigError as exc:
                log.error("%s is not scheduled: %s", job.name, exc)
                continue
            log.info("%s scheduled every %g s", job.name, job.interval)
            self._spawn(run_schedule(job, env))

    async def _purge_loop(self) -> None:
        log_days = self.settings["querylog.retention_days"]
        alert_days = self.settings["alerts.retention_days"]
        if self.engine is None or not (log_days or alert_days):
            return
        from safegate.protect.retention import purge_alerts, retention_cutoff
        from safegate.store.querylog import purge_query_logs
        from safegate.store.values import utcnow

        while True:
            if log_days:
                await self._purge("query log", "query log rows", purge_query_logs,
                                  time.time() - log_days * 86400, log_days)
            before = retention_cutoff(utcnow(), alert_days)
            if before is not None:
                await self._purge("alert", "alerts", purge_alerts, before, alert_days)
            await asyncio.sleep(PURGE_SECONDS)

    async def _purge(self, what: str, rows: str, purge: Any, cutoff: Any, days: int) -> None:
        """One retention purge in a worker thread; a failure is logged, never raised."""
        try:
            removed = await asyncio.get_running_loop().run_in_executor(
                None, purge, self.engine, cutoff)
            if removed:
                log.info("retention: purged %d %s older than %d days", removed, rows, days)
        except Exception as exc:
            log.error("%s retention purge failed: %s", what, exc)

    def update_sources(self, force: bool = False) -> bool:
        """Fetch due list sources; True if any copy changed (runs in a worker thread)."""
        from safegate.lists.registry import update_sources
        from safegate.store.db import session_factory

        with session_factory(self.engine).begin() as session:
            reports = update_sources(session, self.settings.data_dir, force=force)
        for report in reports:
            if report.error:
                log.error("list source %s: %s (last good copy kept)", report.name, report.error)
            elif report.changed:
                log.info("list source %s updated: %s entries", report.name, report.entries)
        return any(r.changed for r in reports)

    async def _source_update_loop(self) -> None:
        if self.engine is None:
            return
        loop = asyncio.get_running_loop()
        while True:
            try:
                if await loop.run_in_executor(None, self.update_sources):
                    await self.reload()
            except Exception as exc:
                log.error("list source update failed: %s", exc)
            await asyncio.sleep(SOURCE_CHECK_SECONDS)

    async def _notify_loop(self) -> None:
        """Reload when another node announces a change (bursts coalesce into one)."""
        from safegate.store.notify import listen

        async def on_message(reason: str) -> None:
            log.info("reload announced: %s", reason)
            assert self.reload_lock is not None
            if self.reload_lock.locked():
                return  # a reload is running; it will see the change
            await self._reload_logged()

        await listen(self.settings["server.notify_url"], self.settings["server.notify_channel"],
                     on_message, self.notify_ready)

    async def _seen_domains_loop(self) -> None:
        """Hand the newly seen domains to the store for the content-safety engine."""
        if self.engine is None or self.gate is None:
            return
        from safegate.lists.auto import record_seen

        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(SEEN_FLUSH_SECONDS)
            batch, self.gate.new_domains = self.gate.new_domains, {}
            try:
                await loop.run_in_executor(None, record_seen, self.engine, batch)
            except Exception as exc:
                log.error("recording newly seen domains failed: %s", exc)

    async def stop(self) -> None:
        if self.gate is None:
            return
        for closer in self.closers:
            closer.close()
        await self.gate.pool.close()
        await self.gate.querylog.stop()
        for task in [*self.gate._tasks, *self.background]:
            task.cancel()
        if self.worker is None:
            with contextlib.suppress(OSError):
                (self.settings.data_dir / PID_FILE).unlink()
        if self.engine is not None:
            self.engine.dispose()

    async def run_forever(self, *, demo: bool = False) -> None:
        await self.start(demo=demo)
        assert self.stopping is not None
        try:
            await self.stopping.wait()
        finally:
            log.info("stopping")
            await self.stop()


def run_loop(runtime: Runtime, demo: bool = False) -> None:
    try:
        import uvloop
    except ImportError:  # pragma: no cover - platforms without uvloop
        asyncio.run(runtime.run_forever(demo=demo))
    else:
        uvloop.run(runtime.run_forever(demo=demo))


def run(settings: Settings, *, demo: bool = False) -> None:
    """Serve until stopped: one process, or a supervisor with ``gate.workers`` processes."""
    one_malloc_arena()
    workers = settings["gate.workers"] or (os.cpu_count() or 1)
    if workers <= 1:
        run_loop(Runtime(settings), demo)
        return
    from safegate.gate.workers import supervise

    supervise(settings, workers, demo=demo)
