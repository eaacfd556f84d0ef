"""One gate process: builds the resolver from an ``App`` (index, policy snapshot, upstreams,
cache, query-log writer), serves it, follows changes, and runs the node's background jobs
when this process leads.

Per process: the listeners, the change watcher (reload on every change announced on the
change bus, caught up by version), the flush of newly seen domains. Once across all workers
and nodes (the leader's, ``safegate.app.leader``): retention purges and the scheduled child
processes. Once per machine (the data directory's leader): list-source updates, because each
node keeps its own copies.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import os
import signal
import time
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from safegate.app.bus import ChangeWatcher
from safegate.app.core import App, lists_signature
from safegate.app.jobs import run_schedule, scheduled_jobs
from safegate.app.leader import Leadership
from safegate.app.memory import one_malloc_arena, tune_gc
from safegate.config import ConfigError, Settings, child_environ, parse_addr
from safegate.files import private_dir
from safegate.gate import fastblock
from safegate.gate.answers import BlockStyle
from safegate.gate.cache import AnswerCache
from safegate.gate.querylog import QueryLog
from safegate.gate.server import Gate, GateOptions, start_listeners
from safegate.gate.upstream import UpstreamPool
from safegate.lists.index import DomainIndex
from safegate.policy.budgets import UsageBoard
from safegate.policy.compiled import PolicySnapshot

log = logging.getLogger(__name__)

# ``web(app, reuse_port)``: start the web app on the running loop; returns an object with an
# async ``stop()``.
WebStarter = Callable[[App, bool], Coroutine[Any, Any, Any]]

SOURCE_CHECK_SECONDS = 300  # how often subscribed list sources are checked for being due
SEEN_FLUSH_SECONDS = 30  # how often newly seen domains are handed to the store
PURGE_SECONDS = 3600  # how often rows past their retention are deleted


def gate_options(settings: Settings) -> GateOptions:
    """The resolver's options from the settings."""
    s = settings
    return GateOptions(
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


@dataclass
class Reloader:
    """Runs ``reload`` for every request, never dropping one: a request that arrives while
    a reload runs makes exactly one more run after it (bursts coalesce)."""

    reload: Callable[[], Coroutine[Any, Any, Any]]
    dirty: bool = False
    task: asyncio.Task[None] | None = None

    def request(self) -> asyncio.Task[None]:
        self.dirty = True
        if self.task is None or self.task.done():
            self.task = asyncio.get_running_loop().create_task(self._drain())
        return self.task

    async def _drain(self) -> None:
        while self.dirty:
            self.dirty = False
            try:
                await self.reload()
            except Exception:
                log.exception("reload failed; the previous policy stays in force")


@dataclass
class GateProcess:
    app: App
    gate: Gate | None = None
    index: DomainIndex | None = None
    signature: tuple[Any, ...] = ()
    port: int = 0
    closers: list[Any] = field(default_factory=list)
    stopping: asyncio.Event | None = None
    reload_lock: asyncio.Lock | None = None
    reloader: Reloader | None = None
    background: set[asyncio.Task[Any]] = field(default_factory=set)
    reuse_port: bool = False  # several worker processes share the port (SO_REUSEPORT)
    preloaded_index: DomainIndex | None = None  # built by the supervisor before forking
    worker: int | None = None
    watcher: ChangeWatcher | None = None
    migrate: bool = True  # False in forked workers: the supervisor migrated
    doh_port: int | None = None  # bound DoH port (None: off)
    dot_port: int | None = None  # bound DoT port (None: off)
    signals: Any = None  # app.signals.DnsSignals: bypass and infection alerts
    counter: Any = None  # the shared budget-minute counter (store.budgets), once opened
    # The web app beside the gate (safegate.web.server.start_web, passed in by `serve`: the
    # app layer never imports the web): started after the listeners, stopped before the app.
    web: WebStarter | None = None
    web_server: Any = None
    reload_after_start: bool = False  # a reload was asked for while the gate was starting

    @property
    def settings(self) -> Settings:
        return self.app.settings

    @property
    def engine(self) -> Any:
        return self.app.engine if self.app.has_store else None

    def load_index(self) -> DomainIndex:
        specs = self.app.list_specs()
        self.signature = lists_signature(specs)
        return self.app.load_index(specs)

    async def reload(self, profiles: frozenset[int] | None = None) -> str:
        """Re-read policy (and the lists, if any list file changed) and swap. With
        ``profiles`` (a policy change that named the only children it touched), only those
        children are read and compiled again, and the lists are not looked at: a change of
        them comes as a change of kind ``lists`` or a SIGHUP, both without ``profiles``.
        Asked for before the gate exists (a SIGHUP while it starts), it runs once the start
        is done."""
        assert self.reload_lock is not None
        if self.gate is None:
            self.reload_after_start = True
            return "deferred until the gate has started"
        async with self.reload_lock:
            loop = asyncio.get_running_loop()
            index = self.index
            if profiles is not None and index is not None:
                snapshot = await loop.run_in_executor(None, self.app.patch_snapshot,
                                                      self.gate.snapshot, profiles)
                return self._swap(snapshot, f"{len(profiles)} of {len(snapshot.profiles)} "
                                            "profiles recompiled")
            specs = await loop.run_in_executor(None, self.app.list_specs)
            signature = lists_signature(specs)
            rebuilt = False
            if signature != self.signature or index is None:
                new_index = await loop.run_in_executor(None, self.app.load_index, specs)
                broken = [x for x in new_index.lists if x.error]
                if broken and index is not None:
                    names = ", ".join(f"{b.spec.key} ({b.error})" for b in broken)
                    log.error("reload kept the previous lists: %s", names)
                else:
                    self.signature = signature
                    index = new_index
                    rebuilt = True
            assert index is not None
            snapshot = await loop.run_in_executor(None, self.app.build_snapshot, index)
            self.index = self.app.live_index = index  # the previous index goes here
            what = self._swap(snapshot, f"{len(snapshot.profiles)} profiles, {index.size} "
                                        "names" + (" (lists rebuilt)" if rebuilt else ""))
            tune_gc()
            return what

    def _swap(self, snapshot: PolicySnapshot, what: str) -> str:
        """Serve ``snapshot`` from now on; what was reloaded, as logged."""
        assert self.gate is not None
        self.gate.swap(snapshot)
        self.app.live_snapshot = snapshot
        what = f"generation {snapshot.generation}: {what}"
        log.info("reloaded %s", what)
        return what

    def request_reload(self, reason: str) -> None:
        """Reload soon; a request during a reload is never lost."""
        assert self.reloader is not None
        log.info("reload requested: %s", reason)
        self.reloader.request()

    async def start(self, *, demo: bool = False) -> int:
        s = self.settings
        started = time.perf_counter()
        self.stopping = asyncio.Event()
        self.reload_lock = asyncio.Lock()
        self.reloader = Reloader(self.reload)
        # A SIGHUP from now on is a reload request, never the default (which kills).
        self._install_signals()
        private_dir(self.app.data_dir)
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, self._open_store, demo)
        # The version is read before the state it describes: a change committed while we
        # load is applied by the watcher right after the start.
        version = await loop.run_in_executor(None, self.app.change_version) \
            if self.engine is not None else None
        if self.preloaded_index is not None:
            self.index, self.preloaded_index = self.preloaded_index, None
            self.signature = lists_signature(await loop.run_in_executor(
                None, self.app.list_specs))
        else:
            self.index = await loop.run_in_executor(None, self.load_index)
        self.app.live_index = self.index
        snapshot = await loop.run_in_executor(None, self.app.build_snapshot, self.index)
        pool = UpstreamPool(s["gate.upstreams"], s["gate.upstream_timeout"],
                            s["gate.health_interval"], head_start=s["gate.upstream_head_start"],
                            use_0x20=s["gate.upstream_0x20"])
        cache = AnswerCache(s["gate.cache_size"], s["gate.stale_max_age"])
        sink = None
        if self.engine is not None:  # the window's rows: DNS signals, then the query log
            from safegate.app.signals import DnsSignals
            from safegate.store.querylog import insert_query_logs

            engine, logged = self.engine, s["querylog.enabled"]
            self.signals = DnsSignals(self.app)
            consume = self.signals.consume

            def sink(rows: Sequence[Any]) -> int:
                consume(rows)  # never raises
                return insert_query_logs(engine, rows) if logged else 0

        querylog = QueryLog(sink, s["querylog.ring_size"], s["querylog.flush_interval"])
        self.app.live_snapshot = snapshot
        self.gate = Gate(snapshot, pool, cache, querylog, gate_options(s),
                         UsageBoard(s["budgets.minute_seconds"]))
        self.app.live_gate = self.gate
        host, port = s.dns_address
        closers, self.port = await start_listeners(self.gate, host, port,
                                                   reuse_port=self.reuse_port)
        self.closers = list(closers)
        try:
            await self._start_encrypted()
            if self.web is not None and s["web.http"]:
                self.web_server = await self.web(self.app, self.reuse_port)
        except BaseException:
            for closer in self.closers:
                closer.close()
            raise
        pool.start()
        querylog.start()
        self._spawn(self._seen_domains_loop())
        self._spawn(self._budget_loop())
        if self.engine is not None:
            self.watcher = ChangeWatcher(
                self.engine, self._on_change, notify_url=s["server.notify_url"],
                channel=s["server.notify_channel"],
                poll_interval=s["server.change_poll_interval"], start_version=version)
            self._spawn(self.watcher.run())
            self._start_jobs()
        tune_gc()
        if self.reload_after_start:
            self.reload_after_start = False
            self.request_reload("asked for while the gate was starting")
        log.info(
            "SafeGate gate%s listening on udp/tcp %s:%d with %d list names, %d profiles "
            "(ready in %.1f s; %s)", "" if self.worker is None else f" worker {self.worker}",
            host, self.port, self.index.size, len(snapshot.profiles),
            time.perf_counter() - started,
            "native block answers on" if fastblock.NATIVE else
            "native block answers off: the package was installed without a C compiler",
        )
        return self.port

    async def _start_encrypted(self) -> None:
        """DoH and DoT listeners, when configured (docs/encrypted-dns.md)."""
        from safegate.gate.dot import TlsError, start_dot, tls_context

        s, gate = self.settings, self.gate
        assert gate is not None
        if not (s["gate.doh"] or s["gate.dot"]):
            return
        try:
            if s["gate.doh"]:
                from safegate.gate.doh import start_doh

                plain = s["gate.doh_plain"]
                ctx = None if plain else tls_context(s["gate.tls_cert"], s["gate.tls_key"],
                                                     ("h2", "http/1.1"))
                host, port = parse_addr(s["gate.doh"])
                server, self.doh_port = await start_doh(gate, host, port, ctx, plain=plain,
                                                        reuse_port=self.reuse_port)
                self.closers.append(server)
                log.info("DNS over HTTP%s on %s:%d/dns-query/TOKEN", "" if plain else "S",
                         host, self.doh_port)
            if s["gate.dot"]:
                ctx = tls_context(s["gate.tls_cert"], s["gate.tls_key"], ("dot",))
                host, port = parse_addr(s["gate.dot"])
                server, self.dot_port = await start_dot(gate, host, port, ctx,
                                                        s["gate.dot_hostname"],
                                                        reuse_port=self.reuse_port)
                self.closers.append(server)
                log.info("DNS over TLS on %s:%d for TOKEN.%s", host, self.dot_port,
                         s["gate.dot_hostname"])
        except TlsError as exc:
            raise ConfigError(f"gate.tls_cert/gate.tls_key: {exc}") from exc

    def _open_store(self, demo: bool) -> None:
        if self.migrate:
            self.app.migrate()
            if demo:
                self.app.create_demo_household()
                announce_demo_sign_in(self.app)

    def _install_signals(self) -> None:
        assert self.stopping is not None
        loop = asyncio.get_running_loop()
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(signal.SIGHUP, self.request_reload, "SIGHUP")
            loop.add_signal_handler(signal.SIGTERM, self.stopping.set)
            loop.add_signal_handler(signal.SIGINT, self.stopping.set)

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self.background.add(task)
        task.add_done_callback(self.background.discard)

    # ------------------------------------------------------------------ jobs

    async def _on_change(self, version: int, kinds: frozenset[str],
                         profiles: frozenset[int] | None) -> None:
        log.info("change %d (%s): reloading", version, ", ".join(sorted(kinds)))
        await self.reload(profiles)

    def _start_jobs(self) -> None:
        """Campaign for the jobs: every worker of every node does, one leads."""
        data_dir = self.app.data_dir
        self._spawn(Leadership(self.engine, data_dir).run(self._cluster_jobs))
        self._spawn(Leadership(self.engine, data_dir, "safegate-lists", per_node=True)
                    .run(self._source_update_loop))

    async def _cluster_jobs(self) -> None:
        """What runs once across all nodes: retention purges, alert notifications and
        scheduled children."""
        jobs = [self._purge_loop(), self._deliver_loop()]
        for job in scheduled_jobs(self.settings):
            try:
                env = child_environ(self.settings, os.environ)
            except ConfigError as exc:
                log.error("%s is not scheduled: %s", job.name, exc)
                continue
            log.info("%s scheduled every %g s", job.name, job.interval)
            jobs.append(run_schedule(job, env))
        await asyncio.gather(*jobs)

    async def _purge_loop(self) -> None:
        """Hourly: rows past their retention (each data class of app/retention.py; off when
        0 days), budget minutes of past days, the change log's old rows and ended temporary
        allows; re-encryption, deadline notices and the weekly report e-mails. It runs as
        long as this process leads (it never ends by itself: leadership
        would be given up and taken again)."""
        if self.engine is None:
            return
        from safegate.app.retention import purges
        from safegate.store.budgets import purge_minutes
        from safegate.store.repo import purge_expired_allows
        from safegate.store.values import utcnow

        while True:
            for purge in purges(self.settings):
                await self._purge(purge.what, purge.rows, _run_purge, purge.run, purge.days)
            # Budget minutes matter for one local day; the database keeps them two more.
            old_day = (utcnow() - timedelta(days=3)).date().isoformat()
            await self._purge("budget", "budget minutes", purge_minutes, old_day, 3)
            await self._purge("change log", "change log rows", self._prune_changes, None, 0)
            await self._purge("temporary allow", "ended temporary allows",
                              purge_expired_allows, utcnow(), 0)
            await self._job("re-encryption", "values moved to the current key",
                            self._reencrypt)
            await self._job("deadline notices", "notices raised", self._notices)
            if self.settings["notify.deliver_interval"]:
                await self._job("weekly reports", "report e-mails sent", self._weekly_reports)
            await asyncio.sleep(PURGE_SECONDS)

    async def _deliver_loop(self) -> None:
        """Every notify.deliver_interval seconds (0: never): alerts to parents by e-mail and
        Web Push (app/notify.py), in a worker thread; a failure is logged, never raised."""
        interval = self.settings["notify.deliver_interval"]
        if self.engine is None or not interval:
            return
        from safegate.app.notify import deliver

        while True:
            await asyncio.sleep(interval)
            try:
                report = await asyncio.get_running_loop().run_in_executor(
                    None, deliver, self.app)
            except Exception as exc:
                log.error("alert notifications failed: %s: %s", exc.__class__.__name__,
                          str(exc).splitlines()[0] if str(exc) else "")
                continue
            if report.sent or report.failed or report.gave_up:
                log.info("%s", report.summary())

    async def _job(self, what: str, done: str, fn: Any) -> None:
        """One hourly job in a worker thread: ``<what>: N <done>`` when N > 0; a failure is
        logged, never raised."""
        try:
            n = await asyncio.get_running_loop().run_in_executor(None, fn)
            if n:
                log.info("%s: %d %s", what, n, done)
        except Exception as exc:
            log.error("%s failed: %s", what, exc)

    def _reencrypt(self) -> int:
        """Values written with an older key moved to the current one (after `safegate keys
        rotate`; app/keys.py), audited when any moved."""
        from safegate.app.keys import reencrypt

        done = reencrypt(self.app, actor="gate:jobs")
        if done["failed"]:
            log.warning("re-encryption: %d values cannot be decrypted with the keys held "
                        "(`safegate keys status`)", done["failed"])
        return int(sum(done["moved"].values()))

    def _notices(self) -> int:
        """Notices for data requests and breach reports due within a day or overdue
        (app/notices.py; each new one is also a log line), e-mailed to the operators
        (app/notice_mail.py)."""
        from safegate.app.notice_mail import mail_notices
        from safegate.app.notices import raise_notices
        from safegate.store.values import utcnow

        now = utcnow()
        raised = raise_notices(self.app, now)
        if raised:
            mail_notices(self.app, now)
        return raised

    def _weekly_reports(self) -> int:
        """Last week's report to each parent (and school admin) who wants it, on Monday
        morning in the organisation's time zone (app/report_mail.py); failures are logged
        there."""
        from safegate.app.report_mail import send_weekly_reports

        return send_weekly_reports(self.app).sent

    def _prune_changes(self, _engine: Any, _cutoff: Any) -> int:
        """Keep the newest change-log rows (a gate further behind reloads everything)."""
        from safegate.store.changes import prune

        with self.app.sessions().begin() as session:
            return prune(session)

    async def _purge(self, what: str, rows: str, purge: Any, cutoff: Any, days: int) -> None:
        """One retention purge in a worker thread; a failure is logged, never raised."""
        try:
            removed = await asyncio.get_running_loop().run_in_executor(
                None, purge, self.engine, cutoff)
            if removed:
                log.info("retention: purged %d %s%s", removed, rows,
                         f" older than {days} days" if days else "")
        except Exception as exc:
            log.error("%s retention purge failed: %s", what, exc)

    def update_sources(self, force: bool = False) -> bool:
        """Fetch due list sources; True if any copy changed, which is announced on the change
        bus (runs in a worker thread)."""
        from safegate.app import sources

        reports = sources.update(self.app, force=force)
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
                await loop.run_in_executor(None, self.update_sources)
            except Exception as exc:
                log.error("list source update failed: %s", exc)
            await asyncio.sleep(SOURCE_CHECK_SECONDS)

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

    # ------------------------------------------------------------------ time budgets

    def _open_counter(self) -> Any:
        if self.counter is None:
            from safegate.app.budgets import counter, counter_url

            if counter_url(self.app) is None and self.engine is None:
                return None  # no store and no Redis: minutes are counted in this process only
            self.counter = counter(self.app)
        return self.counter

    def budget_keys(self) -> list[tuple[int, str, str]]:
        """(profile, target, local day) of every budget in the current snapshot."""
        assert self.gate is not None
        board, wall = self.gate.budgets, time.time()
        keys: list[tuple[int, str, str]] = []
        for profile in self.gate.snapshot.profiles.values():
            if profile.budgets.empty or profile.id is None:
                continue
            day = board.clock(profile.budgets.timezone, wall).day
            keys.extend((profile.id, target, day) for target in profile.budgets.limits)
        return keys

    def _budget_sync(self, batch: list[Any],
                     keys: list[tuple[int, str, str]] | None) -> dict[Any, Any] | None:
        """Write the minutes counted here; read everyone's when ``keys`` (a worker thread)."""
        store = self._open_counter()
        if store is None:
            return None
        store.add(batch)
        return store.read(keys) if keys is not None else None

    async def budget_round(self, refresh: bool = True) -> int:
        """One flush (and read) of budget minutes; how many profiles changed state."""
        assert self.gate is not None
        board = self.gate.budgets
        batch = board.take()
        keys = self.budget_keys() if refresh else None
        if not batch and not keys:
            return 0
        loop = asyncio.get_running_loop()
        try:
            counts = await loop.run_in_executor(None, self._budget_sync, batch, keys)
        except Exception as exc:
            board.pending.update(batch)  # kept for the next round
            log.error("counting budget minutes failed: %s", exc)
            return 0
        if counts is None:
            return 0
        board.replace(counts)
        return self.gate.refresh_budgets(time.time())

    async def _budget_loop(self) -> None:
        """Flush the minutes counted here every ``budgets.flush_interval`` seconds and read
        everyone's every ``budgets.refresh_interval`` (docs/budgets.md: the staleness)."""
        flush = self.settings["budgets.flush_interval"]
        every = self.settings["budgets.refresh_interval"]
        tick = min(flush, every)
        last_flush = last_read = time.monotonic()
        while True:
            await asyncio.sleep(tick)
            now = time.monotonic()
            refresh = now - last_read >= every - 1e-3
            if not refresh and now - last_flush < flush - 1e-3:
                continue
            last_flush = now
            if refresh:
                last_read = now
            changed = await self.budget_round(refresh)
            if changed:
                log.info("time budgets: %d profile(s) changed state", changed)

    async def stop(self) -> None:
        if self.gate is None:
            return
        if self.web_server is not None:
            with contextlib.suppress(Exception):
                await self.web_server.stop()
        for closer in self.closers:
            closer.close()
        await self.gate.pool.close()
        await self.gate.querylog.stop()
        tasks = [*self.gate._tasks, *self.background]
        if self.reloader is not None and self.reloader.task is not None:
            tasks.append(self.reloader.task)
        for task in tasks:
            task.cancel()
        # Wait for them: a leader releases its lock as its task ends.
        await asyncio.gather(*tasks, return_exceptions=True)
        with contextlib.suppress(Exception):
            await self.budget_round(refresh=False)  # the last minutes counted here
        if self.counter is not None:
            self.counter.close()
        self.app.close()

    async def run_forever(self, *, demo: bool = False) -> None:
        await self.start(demo=demo)
        assert self.stopping is not None
        try:
            await self.stopping.wait()
        finally:
            log.info("stopping")
            await self.stop()


def announce_demo_sign_in(app: App) -> None:
    """Give the demo parent the fixed demo password (if it has none) and say how to sign in."""
    from safegate.app.accounts import DEMO_PASSWORD, ensure_demo_parent

    login = ensure_demo_parent(app)
    if login is not None:
        log.info("demo sign-in: %s / %s (a fixed, public demo password: never use --demo "
                    "for a real family)", login, DEMO_PASSWORD)


def run_loop(process: GateProcess, demo: bool = False) -> None:
    try:
        import uvloop
    except ImportError:  # pragma: no cover - platforms without uvloop
        asyncio.run(process.run_forever(demo=demo))
    else:
        uvloop.run(process.run_forever(demo=demo))


def run(settings: Settings, *, demo: bool = False, web: WebStarter | None = None) -> None:
    """Serve until stopped: one process, or a supervisor with ``gate.workers`` processes
    (each serving the web app too, on the shared port)."""
    one_malloc_arena()
    workers = settings["gate.workers"] or (os.cpu_count() or 1)
    if workers <= 1:
        run_loop(GateProcess(App(settings), web=web), demo)
        return
    from safegate.app.workers import supervise

    supervise(settings, workers, demo=demo, web=web)


def _run_purge(engine: Any, run: Any) -> int:
    """One purge of ``app.retention.purges`` (the shape ``GateProcess._purge`` calls)."""
    return int(run(engine))
