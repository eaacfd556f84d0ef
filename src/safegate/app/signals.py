"""The gate's DNS signals, app side: the query-log rows of each window go through the pure
:class:`~safegate.protect.signals.Detector`, and what it raises is stored as alerts
(:mod:`safegate.protect.dns_alerts`).

Runs in the query-log writer's worker thread, once per window (``querylog`` rows, every ten
seconds), never on the gate's hot path. It never raises: a store or key failure is logged (no
domain names, no addresses) and the gate goes on.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from safegate.app.core import App
from safegate.protect.dns_alerts import store_signals
from safegate.protect.monitor import describe_error
from safegate.protect.signals import Detector, Event, Thresholds, event_from_row, may_count

log = logging.getLogger(__name__)


class DnsSignals:
    """Feeds query-log rows to a detector and stores the alerts it raises."""

    def __init__(self, app: App, thresholds: Thresholds | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.app = app
        self.detector = Detector(thresholds or Thresholds.from_settings(app.settings))
        self.clock = clock
        self._lock = threading.Lock()

    def events(self, rows: Sequence[Sequence[Any]]) -> list[Event]:
        """The blocked rows of children that can count towards a signal (``may_count``), as
        events. Their time is now (the write of the window): a row's own time is the window's
        start, or only the hour for a child whose log level is ``domains``."""
        now = self.clock()
        out = []
        # One pass in C over the window's rows (there is one per distinct name and client):
        # most are not blocks of a child's bypass or malware names.
        for _, ip, profile_id, qname, _, action, reason, count in [
                row for row in rows
                if row[5] == "block" and row[2] is not None and may_count(row[3], row[6])]:
            event = event_from_row(now, ip, profile_id, qname, action, reason, count)
            if event is not None:
                out.append(event)
        return out

    def consume(self, rows: Sequence[Sequence[Any]]) -> None:
        with self._lock:  # one window at a time; the query log writes them in order anyway
            signals = []
            try:
                signals = self.detector.feed(self.events(rows))
                if not signals:
                    return
                # Read for each batch (alerts are rare): a rotated key is used at once.
                outcomes = store_signals(self.app.engine, signals, self.app.keyring())
            except Exception as exc:
                log.error("DNS signals: alerts not stored (%s)", describe_error(exc))
                return
            for outcome in outcomes:
                if outcome.alert is not None:
                    log.info("DNS signals: %s alert %d for profile %d (%s, count %d)",
                             outcome.alert.category, outcome.alert.id,
                             outcome.alert.profile_id, outcome.action, outcome.alert.count)
