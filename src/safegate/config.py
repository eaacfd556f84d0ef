"""Settings: one TOML file plus ``SAFEGATE_*`` environment variables, validated at start.

Every option is declared once in ``OPTIONS`` with its type, default, allowed values and a
sentence of documentation; ``docs/configuration.md`` is generated from the same table.
A bad value raises ``ConfigError`` naming the key, the value and what is allowed.
Environment variables override the file: ``gate.cache_size`` is ``SAFEGATE_GATE__CACHE_SIZE``
(sections joined by a double underscore); lists are comma-separated. Precedence: defaults <
file < environment < command line.
"""

from __future__ import annotations

import difflib
import ipaddress
import math
import os
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ENV_PREFIX = "SAFEGATE_"
CONFIG_ENV = ENV_PREFIX + "CONFIG"  # path of the TOML file
# Read by the Alembic migration environment too; an alias of server.database_url here.
DATABASE_URL_ENV = ENV_PREFIX + "DATABASE_URL"
# Field-encryption keys (safegate.privacy.crypto): read there, never stored in settings,
# so they cannot end up in a settings dump or a log line.
SECRET_KEY_ENV = ENV_PREFIX + "SECRET_KEY"


class ConfigError(ValueError):
    """A setting with a value that is not allowed; the message says which and why."""


@dataclass(frozen=True, slots=True)
class Option:
    key: str  # dotted, e.g. "gate.cache_size"
    # "str" | "int" | "float" | "bool" | "list" | "choice" | "addr" | "nets" | "upstreams"
    # | "ipv4" | "ipv6" | "categories"
    kind: str
    default: Any
    doc: str
    choices: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None

    @property
    def env(self) -> str:
        return ENV_PREFIX + self.key.upper().replace(".", "__")


def _default_dns() -> str:
    return "0.0.0.0:53" if hasattr(os, "geteuid") and os.geteuid() == 0 else "0.0.0.0:5353"


PRIVATE_NETWORKS = (
    "127.0.0.0/8", "::1/128", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16",
    "100.64.0.0/10", "169.254.0.0/16", "fc00::/7", "fe80::/10",
)

OPTIONS: tuple[Option, ...] = (
    Option("server.data_dir", "str", "./data",
           "Directory for the SQLite database, keys, list copies and the alert spool (0700)."),
    Option("server.database_url", "str", "",
           "SQLAlchemy URL of the store; empty means SQLite in the data directory. "
           "Use postgresql+psycopg://user@host/db for many nodes."),
    Option("server.log_level", "choice", "info", "Level of the server's own log.",
           choices=("debug", "info", "warning", "error")),
    Option("server.notify_url", "str", "",
           "Redis URL (redis://host:6379/0) on which nodes announce policy and list changes; "
           "every node listening reloads within a second. Empty: this node only."),
    Option("server.notify_channel", "str", "safegate:reload",
           "Redis pub/sub channel for those announcements (one per deployment)."),
    Option("server.change_poll_interval", "float", 0.5,
           "Seconds between reads of the change version in the database (one indexed "
           "single-row read): how late a gate applies a change whose announcement it missed "
           "(no Redis, Redis down, a command run in another process on this machine).",
           minimum=0.1, maximum=3600.0),
    Option("gate.dns", "addr", None,
           "UDP and TCP address of the resolver. Default 0.0.0.0:53 as root, else 0.0.0.0:5353."),
    Option("gate.upstreams", "upstreams", ["1.1.1.1:53", "8.8.8.8:53"],
           "Upstream resolvers, tried in order with failover: IP:PORT for UDP/TCP, or an "
           "https:// URL for DNS over HTTPS (RFC 8484)."),
    Option("gate.upstream_timeout", "float", 2.0,
           "Seconds one upstream has to answer a query (UDP is sent again once at half time).",
           minimum=0.05, maximum=30),
    Option("gate.upstream_head_start", "float", 0.25,
           "Seconds an upstream has to itself before the next one is asked too; the first "
           "good answer wins. 0 asks all at once.", minimum=0, maximum=30),
    Option("gate.upstream_0x20", "bool", True,
           "Send names to UDP upstreams in random upper/lower case and accept only answers "
           "that keep it (0x20, against spoofed answers); switched off by itself for an "
           "upstream that does not keep case."),
    Option("gate.health_interval", "float", 10.0,
           "Seconds between health checks of each upstream.", minimum=0.1, maximum=3600),
    Option("gate.cache_size", "int", 100_000,
           "Most answers kept in the cache (oldest evicted first).", minimum=0, maximum=50_000_000),
    Option("gate.max_ttl", "int", 86_400, "Longest time an answer is cached, in seconds.",
           minimum=0, maximum=604_800),
    Option("gate.max_negative_ttl", "int", 3_600,
           "Longest time an NXDOMAIN/NODATA answer is cached (RFC 2308).", minimum=0,
           maximum=86_400),
    Option("gate.serve_stale", "bool", True,
           "Answer from expired cache entries when every upstream is down (RFC 8767)."),
    Option("gate.stale_max_age", "int", 86_400,
           "How long past expiry a cached answer may still be served stale, in seconds.",
           minimum=0, maximum=604_800),
    Option("gate.block_mode", "choice", "null",
           "Answer for blocked names: null (0.0.0.0 / ::), nxdomain, or blockpage.",
           choices=("null", "nxdomain", "blockpage")),
    Option("gate.block_ttl", "int", 60, "TTL of block answers in seconds.", minimum=0,
           maximum=86_400),
    Option("gate.blockpage_ipv4", "ipv4", "",
           "IPv4 address of the block page; required in blockpage mode."),
    Option("gate.blockpage_ipv6", "ipv6", "",
           "IPv6 address of the block page; without it, AAAA queries for blocked names get "
           "an empty answer in blockpage mode."),
    Option("gate.allowed_networks", "nets", list(PRIVATE_NETWORKS),
           "Client networks that may query; everyone else is refused (not an open resolver)."),
    Option("gate.rate_limit_qps", "float", 200.0,
           "Queries per second one client address may send (loopback is exempt); 0 disables.",
           minimum=0, maximum=1_000_000),
    Option("gate.rate_limit_burst", "int", 400, "Burst allowance of the per-client limit.",
           minimum=1, maximum=10_000_000),
    Option("gate.default_lists", "bool", True,
           "Load the blocklists embedded in the package."),
    Option("gate.blocklists", "list", [],
           "Extra list files (plain domains, hosts or adblock; .gz allowed) applied to every "
           "client as category custom."),
    Option("gate.tcp_idle_timeout", "float", 10.0, "Seconds an idle TCP connection is kept.",
           minimum=0.5, maximum=600),
    Option("gate.max_tcp_connections", "int", 512,
           "Concurrent TCP connections from allowed clients (refused and rate-limited "
           "clients are closed at once and do not count).", minimum=1, maximum=100_000),
    Option("gate.max_tcp_per_address", "int", 16,
           "Concurrent TCP connections from one client address; more are closed at once.",
           minimum=1, maximum=100_000),
    Option("gate.trusted_forwarders", "nets", [],
           "Addresses (IPs or CIDRs) of forwarders, such as a dnsmasq router with add-mac, "
           "whose EDNS MAC option (65001) identifies the device behind them. From anyone "
           "else the option is ignored, so a device cannot claim another's profile. Empty: "
           "nobody's MAC is believed."),
    Option("gate.workers", "int", 1,
           "Gate processes answering on the same address (SO_REUSEPORT) under one supervisor; "
           "0 means one per CPU core. More than 1 needs a fixed port.", minimum=0, maximum=256),
    Option("gate.doh", "addr", "",
           "Address of DNS over HTTPS (RFC 8484, HTTP/2 and HTTP/1.1) at "
           "https://HOST/dns-query/TOKEN, e.g. 0.0.0.0:443; empty: off. Needs gate.tls_cert "
           "and gate.tls_key unless gate.doh_plain (docs/encrypted-dns.md)."),
    Option("gate.doh_plain", "bool", False,
           "Serve gate.doh as plain HTTP for a reverse proxy that terminates TLS; the client "
           "address is then read from X-Forwarded-For, but only when the proxy is in "
           "gate.trusted_forwarders. Never expose it directly."),
    Option("gate.dot", "addr", "",
           "Address of DNS over TLS (RFC 7858), e.g. 0.0.0.0:853; empty: off. A device is "
           "known by the server name TOKEN.<gate.dot_hostname>. Needs gate.tls_cert and "
           "gate.tls_key."),
    Option("gate.dot_hostname", "str", "",
           "The name under which devices reach DoT and DoH, e.g. dns.example.vn: DoT server "
           "names are LABEL.dns.example.vn (the certificate must cover *.dns.example.vn), DoH "
           "URLs https://dns.example.vn/dns-query/TOKEN. Needed for DoT and set-up material."),
    Option("gate.tls_cert", "str", "",
           "PEM file with the certificate chain for DoH and DoT."),
    Option("gate.tls_key", "str", "",
           "PEM file with the private key of gate.tls_cert (keep it 0600)."),
    Option("web.http", "addr", "",
           "Address of the web app and its API (/api/v1, OpenAPI at /api/openapi.json) served "
           "by `safegate serve` beside the gate, e.g. 127.0.0.1:8080 (`make run` uses that); "
           "empty: no web app. `serve --http ADDR:PORT` sets it (docs/web.md)."),
    Option("web.blockpage", "addr", "",
           "Address of the block page, e.g. 0.0.0.0:80 on the machine whose address is "
           "gate.blockpage_ipv4: in blockpage mode a child's browser opening a blocked http:// "
           "site lands there (HTTPS sites cannot show it: docs/web.md). Empty: off."),
    Option("web.tls", "bool", False,
           "Serve web.http over HTTPS with gate.tls_cert and gate.tls_key; session cookies "
           "are then marked Secure. Behind a reverse proxy that terminates TLS, see "
           "web.secure_cookies."),
    Option("web.secure_cookies", "bool", False,
           "Mark session cookies Secure although web.http is plain HTTP: set it when a "
           "reverse proxy terminates TLS in front of the web app."),
    Option("web.trusted_proxies", "nets", [],
           "Addresses (IPs or CIDRs) of reverse proxies in front of the web app: only from "
           "them is the X-Forwarded-For header believed, for the sign-in rate limit and the "
           "\"from where\" of the audit log. Empty: the socket peer is the client."),
    Option("web.threads", "int", 2,
           "Threads that run the web app's page and API handlers; one of them is kept for "
           "changes, the others take page views. With 2, page views run one at a time: on "
           "the embedded SQLite and on a PostgreSQL on the same machine, three at once "
           "served fewer pages a second (measured with wrk; docs/web.md names the runs). "
           "A PostgreSQL across a network may gain from more, as its round trips wait "
           "longer (not measured): `bench/web --web-threads N` compares values.",
           minimum=1, maximum=200),
    Option("web.login_attempts_per_minute", "int", 10,
           "Sign-in attempts one client address may make per minute before it is refused "
           "for a while (HTTP 429); each account is also locked for 15 minutes after 5 "
           "wrong passwords in a row.", minimum=1, maximum=10_000),
    Option("web.signup", "bool", False,
           "Let anyone who reaches the web app create a household (/signup: an e-mail "
           "address or a Vietnamese phone number and a password), with the sign-in rate "
           "limit. Off: households are added by an operator; invite links work either way."),
    Option("lists.max_bytes", "int", 64 * 1024 * 1024,
           "Largest copy of a subscribed list source, in bytes, as downloaded and again after "
           "gzip decompression; a bigger one is refused (the last good copy stays).",
           minimum=1024, maximum=4 * 1024 ** 3),
    Option("lists.max_entries", "int", 2_000_000,
           "Most usable entries in a copy of a subscribed list source; more are refused (the "
           "last good copy stays).", minimum=1, maximum=100_000_000),
    Option("lists.max_shrink", "float", 0.5,
           "Share of its entries a subscribed source may lose in one update: a copy that "
           "shrank more is held back (the last good copy stays and the source shows the "
           "error) until `safegate lists update --force NAME`. 1 turns the check off.",
           minimum=0, maximum=1),
    Option("querylog.enabled", "bool", True, "Record queries in the store."),
    Option("querylog.retention_days", "int", 30,
           "Days query log rows are kept; 0 keeps them forever.", minimum=0, maximum=3_650),
    Option("querylog.ring_size", "int", 200_000,
           "Records held in memory between writes; beyond it the oldest are dropped and "
           "counted.", minimum=100, maximum=10_000_000),
    Option("querylog.flush_interval", "float", 1.0, "Seconds between batch writes.",
           minimum=0.05, maximum=60),
    Option("budgets.redis_url", "str", "",
           "Where gates count the minutes of time budgets, shared by every worker and node: a "
           "Redis URL (one sorted set of minutes per child, target and day), empty for "
           "server.notify_url, or 'database' (the budget_usage table; also used when both are "
           "empty). See docs/budgets.md."),
    Option("budgets.flush_interval", "float", 5.0,
           "Seconds between writes of the minutes a gate counted to the shared counter (the "
           "gate never waits for it while answering).", minimum=0.05, maximum=60),
    Option("budgets.refresh_interval", "float", 5.0,
           "Seconds between reads of the minutes every gate counted: a budget used up on "
           "another worker or node closes here at most flush + refresh interval seconds late.",
           minimum=0.05, maximum=60),
    Option("budgets.minute_seconds", "int", 60,
           "Length of a counted minute in seconds. For tests only: leave it at 60.",
           minimum=1, maximum=60),
    Option("alerts.retention_days", "int", 90,
           "Days an alert about a child is kept after its latest message (the gate purges "
           "hourly; `safegate alerts purge` by hand); 0 keeps alerts forever.", minimum=0,
           maximum=3_650),
    Option("retention.aggregates_days", "int", 365,
           "Days the query log's hourly aggregates (rows without a client address: log level "
           "domains, or full without its consent) are kept; full rows follow "
           "querylog.retention_days. 0 keeps them forever. See docs/privacy.md.",
           minimum=0, maximum=3_650),
    Option("retention.seen_domains_days", "int", 90,
           "Days a domain no list knew stays in the queue for categorisation after it was "
           "last resolved; 0 keeps it forever.", minimum=0, maximum=3_650),
    Option("retention.requests_days", "int", 1_095,
           "Days a fulfilled data-subject request (`safegate dsr`) is kept after it was "
           "fulfilled, as proof; open requests are never purged. 0 keeps them forever.",
           minimum=0, maximum=3_650),
    Option("retention.consents_days", "int", 1_095,
           "Days a withdrawn consent is kept after its withdrawal, as proof of what was "
           "agreed; active consents are never purged. 0 keeps them forever.",
           minimum=0, maximum=3_650),
    Option("audit.retention_days", "int", 1_825,
           "Days an audit-log entry is kept; older ones are purged hourly and replaced by one "
           "checkpoint entry (how many, the last one's place and hash) from which `safegate "
           "audit verify` checks the rest of the chain. 0 keeps them forever. See "
           "docs/privacy.md.", minimum=0, maximum=36_500),
    Option("alerts.store_tries", "int", 4,
           "How often `safegate monitor` tries to store an alert when the database fails for "
           "a passing reason (unreachable, restarting, locked); what still fails waits, "
           "encrypted, in alert-spool.jsonl in the data directory for the next run.",
           minimum=1, maximum=20),
    Option("alerts.store_retry_delay", "float", 0.5,
           "Seconds before the second try to store an alert; each later wait doubles (0.5: "
           "tries after 0.5, 1 and 2 s).", minimum=0, maximum=60),
    Option("signals.bypass_attempts", "int", 5,
           "Blocked lookups of bypass names (DoH resolvers, VPNs, proxies, the canaries) from "
           "one device within signals.bypass_window that raise a bypass-attempt alert.",
           minimum=1, maximum=10_000),
    Option("signals.bypass_window", "float", 600.0,
           "Seconds over which bypass lookups are counted.", minimum=1, maximum=86_400),
    Option("signals.infection_attempts", "int", 10,
           "Blocked malware or command-and-control lookups from one device within "
           "signals.infection_window that raise an infected-device alert.",
           minimum=1, maximum=10_000),
    Option("signals.infection_window", "float", 3600.0,
           "Seconds over which malware lookups are counted.", minimum=1, maximum=86_400),
    Option("signals.infection_spread", "float", 300.0,
           "The counted malware lookups must span at least this many seconds (a bad advert "
           "is a burst; malware calls home again and again); at most the infection window.",
           minimum=0, maximum=86_400),
    Option("signals.cooldown", "float", 3600.0,
           "Seconds after an alert before the same device raises the same kind again.",
           minimum=1, maximum=604_800),
    Option("urls.categorise_interval", "float", 0.0,
           "Seconds between runs of `safegate categorise-new` that the gate starts as a child "
           "process (one at a time, stopped after 10 minutes); 0: never (run it from cron).",
           minimum=0, maximum=604_800),
    Option("urls.categorise_fetch", "bool", False,
           "Those scheduled runs also read each page (categorise-new --fetch): outgoing HTTP "
           "from the gate's host to sites nobody has judged yet."),
    Option("notify.deliver_interval", "float", 60.0,
           "Seconds between runs of `safegate alerts deliver` that the gate's jobs leader "
           "starts as a child process (alerts to parents by e-mail and Web Push); 0: never "
           "(run it from cron).", minimum=0, maximum=86_400),
    Option("notify.base_url", "str", "",
           "The web app's address as parents reach it (e.g. https://safegate.home:8443); "
           "notifications link to its alerts page. Empty: no link."),
    Option("notify.max_age_hours", "float", 48.0,
           "Alerts first seen longer ago than this are not sent any more (a new account or "
           "a long outage does not flood a parent with old alerts).", minimum=1,
           maximum=8_760),
    Option("notify.max_tries", "int", 6,
           "Tries of one failing delivery before it is given up.", minimum=1, maximum=100),
    Option("notify.retry_delay", "float", 60.0,
           "Seconds before the second try of a failed delivery; doubled for each later try.",
           minimum=0, maximum=86_400),
    Option("notify.smtp_host", "str", "",
           "SMTP server that sends alert e-mails; empty: no e-mail."),
    Option("notify.smtp_port", "int", 587, "Its port.", minimum=1, maximum=65_535),
    Option("notify.smtp_user", "str", "", "SMTP login; empty: send without logging in."),
    Option("notify.smtp_password", "str", "",
           "SMTP password (never logged; prefer SAFEGATE_NOTIFY__SMTP_PASSWORD to the file)."),
    Option("notify.smtp_from", "str", "",
           "The From address of alert e-mails (needed with notify.smtp_host)."),
    Option("notify.smtp_starttls", "bool", True,
           "Upgrade the SMTP connection with STARTTLS before logging in (refused if the "
           "server cannot)."),
    Option("notify.smtp_timeout", "float", 20.0, "Seconds an SMTP exchange may take.",
           minimum=1, maximum=600),
    Option("notify.vapid_subject", "str", "mailto:admin@localhost",
           "The contact (mailto: or https:) Web Push services see in the VAPID claim; the "
           "VAPID key pair is generated into the data directory on first use."),
    Option("policy.default_categories", "categories", None,
           "Categories blocked for clients that are not a child's device (a parent's phone, "
           "a guest). Default: harm to anyone — adult, gambling, drugs, violence, weapons, "
           "self_harm, hate, scam, malware, cults."),
    Option("policy.default_log_level", "choice", "full",
           "Query logging for unknown clients: full, domains (no client address, hour "
           "resolution) or off.", choices=("full", "domains", "off")),
)

_BY_KEY = {o.key: o for o in OPTIONS}


def _number(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


def _allowed(opt: Option) -> str:
    if opt.kind == "choice":
        return "one of " + ", ".join(opt.choices)
    if opt.kind == "bool":
        return "true or false"
    if opt.kind in ("int", "float"):
        lo = "" if opt.minimum is None else f" >= {_number(opt.minimum)}"
        hi = "" if opt.maximum is None else f" <= {_number(opt.maximum)}"
        what = "a whole number" if opt.kind == "int" else "a number"
        return what + (lo + (" and" if lo and hi else "") + hi)
    if opt.kind == "addr":
        return "IP:PORT, e.g. 127.0.0.1:5353 or [::1]:53" + (", or empty (off)"
                                                             if opt.default == "" else "")
    if opt.kind == "nets":
        return "a list of networks in CIDR form, e.g. 192.168.0.0/16"
    if opt.kind == "upstreams":
        return ("a non-empty list of IP:PORT (e.g. 1.1.1.1:53, [2606:4700::1111]:53) or "
                "https:// URLs")
    if opt.kind in ("ipv4", "ipv6"):
        return f"an IPv{opt.kind[3]} address, or empty"
    if opt.kind == "categories":
        return "a list of category ids: " + ", ".join(_category_ids())
    if opt.kind == "list":
        return "a list of strings"
    return "a string"


def _category_ids() -> list[str]:
    try:
        from safegate.lists.taxonomy import categories
    except ImportError:  # pragma: no cover - the taxonomy ships with the package
        return []
    return [c.id for c in categories()]


def _bad(opt: Option, value: object, source: str, why: str = "is not allowed") -> ConfigError:
    return ConfigError(f"{opt.key} ({source}): {value!r} {why}; expected {_allowed(opt)}")


def parse_addr(text: str) -> tuple[str, int]:
    """``HOST:PORT`` → (host, port); IPv6 hosts in brackets."""
    text = text.strip()
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        if not rest.startswith(":"):
            raise ValueError("missing :PORT")
        port_text = rest[1:]
    else:
        host, sep, port_text = text.rpartition(":")
        if not sep:
            raise ValueError("missing :PORT")
    ipaddress.ip_address(host)
    if not port_text.isdigit():
        raise ValueError("the port is not a number")
    port = int(port_text)
    if not 0 <= port <= 65535:
        raise ValueError("port out of range")
    return host, port


def _coerce(opt: Option, value: Any, source: str) -> Any:
    from_env = source.startswith("env")
    try:
        if opt.kind == "bool":
            if isinstance(value, bool):
                return value
            if from_env and str(value).lower() in ("1", "true", "yes", "on"):
                return True
            if from_env and str(value).lower() in ("0", "false", "no", "off"):
                return False
            raise ValueError
        if opt.kind == "int":
            if isinstance(value, bool):
                raise ValueError
            number = int(value) if (from_env or isinstance(value, int)) else None
            if number is None:
                raise ValueError
            _check_range(opt, number)
            return number
        if opt.kind == "float":
            if isinstance(value, bool):
                raise ValueError
            f = float(value) if (from_env or isinstance(value, int | float)) else None
            if f is None or not math.isfinite(f):
                raise ValueError
            _check_range(opt, f)
            return f
        if opt.kind == "choice":
            if str(value) not in opt.choices:
                raise ValueError
            return str(value)
        if opt.kind == "addr":
            if not isinstance(value, str):
                raise ValueError
            if value or opt.default != "":  # empty: off, where the default is off
                parse_addr(value)
            return value
        if opt.kind in ("ipv4", "ipv6"):
            if not isinstance(value, str):
                raise ValueError
            if value:
                ip = ipaddress.ip_address(value.strip())
                if ip.version != int(opt.kind[3]):
                    raise _bad(opt, value, source, f"is an IPv{ip.version} address")
                return str(ip)
            return value
        if opt.kind in ("list", "nets", "upstreams", "categories"):
            items = [s.strip() for s in value.split(",") if s.strip()] if from_env else value
            if not isinstance(items, list):
                raise ValueError
            for item in items:
                if not isinstance(item, str):
                    raise _bad(opt, item, source, f"in {value!r} is not a string")
                if opt.kind == "nets":
                    try:
                        ipaddress.ip_network(item, strict=False)
                    except ValueError:
                        raise _bad(opt, item, source, "is not a network") from None
                elif opt.kind == "upstreams" and not item.startswith(("https://", "http://")):
                    try:
                        parse_addr(item)
                    except ValueError:
                        raise _bad(opt, item, source, "is not an upstream") from None
            if opt.kind == "upstreams" and not items:
                raise ValueError
            if opt.kind == "categories":
                known = _category_ids()
                for item in items:
                    if known and item not in known:
                        raise _bad(opt, item, source, "is not a category")
            return items
        if not isinstance(value, str):
            raise ValueError
        return value
    except ConfigError:
        raise  # already names the item at fault
    except (ValueError, TypeError) as exc:
        raise _bad(opt, value, source) from exc


def _check_range(opt: Option, number: float) -> None:
    if opt.minimum is not None and number < opt.minimum:
        raise ValueError
    if opt.maximum is not None and number > opt.maximum:
        raise ValueError


def _flatten(table: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in table.items():
        full = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(_flatten(value, full + "."))
        else:
            out[full] = value
    return out


class Settings:
    """Validated settings; read with ``settings["gate.cache_size"]`` or attributes below."""

    def __init__(self, values: dict[str, Any], path: Path | None = None) -> None:
        self._values = values
        self.path = path

    def __getitem__(self, key: str) -> Any:
        return self._values[key]

    def with_overrides(self, overrides: Mapping[str, Any]) -> Settings:
        """A copy with command-line values (validated like everything else)."""
        values = dict(self._values)
        for key, value in overrides.items():
            opt = _BY_KEY.get(key)
            if opt is None:
                raise ConfigError(f"{key} (command line): unknown setting{_did_you_mean(key)}")
            values[key] = _coerce(opt, value, "command line")
        settings = Settings(values, self.path)
        _cross_check(settings)
        return settings

    @property
    def data_dir(self) -> Path:
        return Path(self["server.data_dir"]).expanduser()

    @property
    def database_url(self) -> str:
        url: str = self["server.database_url"]
        if url:
            return url
        from safegate.store.db import sqlite_url

        return sqlite_url(self.data_dir)

    @property
    def dns_address(self) -> tuple[str, int]:
        return parse_addr(self["gate.dns"] or _default_dns())

    def as_dict(self) -> dict[str, Any]:
        return dict(self._values)


def load_settings(
    path: Path | None = None,
    env: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Settings:
    """Defaults ← TOML file ← environment ← command-line overrides, all validated."""
    environ = os.environ if env is None else env
    if path is None and environ.get(CONFIG_ENV):
        path = Path(environ[CONFIG_ENV])
    values = {o.key: o.default for o in OPTIONS}
    if path is not None:
        for key, value in _flatten(_read_toml(path)).items():
            opt = _BY_KEY.get(key)
            if opt is None:
                raise ConfigError(f"{key} (in {path}): unknown setting{_did_you_mean(key)}; "
                                  "see docs/configuration.md")
            values[key] = _coerce(opt, value, f"in {path}")
    by_env = {o.env: o for o in OPTIONS}
    if DATABASE_URL_ENV in environ and "SAFEGATE_SERVER__DATABASE_URL" not in environ:
        values["server.database_url"] = _coerce(
            _BY_KEY["server.database_url"], environ[DATABASE_URL_ENV], f"env {DATABASE_URL_ENV}")
    for opt in OPTIONS:
        if opt.env in environ:
            values[opt.key] = _coerce(opt, environ[opt.env], f"env {opt.env}")
    for name in environ:
        if (name.startswith(ENV_PREFIX) and name not in by_env
                and name not in (CONFIG_ENV, DATABASE_URL_ENV, SECRET_KEY_ENV)
                and not name.startswith(ENV_PREFIX + "TEST_")):
            close = difflib.get_close_matches(name, list(by_env), n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            raise ConfigError(f"{name}: unknown environment setting{hint}; "
                              "see docs/configuration.md")
    settings = Settings(values, path)
    if overrides:
        settings = settings.with_overrides(overrides)
    _cross_check(settings)
    return settings


def child_environ(settings: Settings, base: Mapping[str, str]) -> dict[str, str]:
    """The environment of a ``safegate`` child process that must see exactly ``settings``:
    ``base`` without its own settings variables, config file and encryption keys, plus one
    ``SAFEGATE_*`` variable per option (the database URL too: never on a command line).
    ``load_settings`` reads the result back to the same values. Raises ConfigError for a
    list item that a comma-separated variable cannot carry."""
    dropped = {o.env for o in OPTIONS} | {CONFIG_ENV, DATABASE_URL_ENV, SECRET_KEY_ENV}
    env = {k: v for k, v in base.items() if k not in dropped}
    for opt in OPTIONS:
        value = settings[opt.key]
        if value is None:  # the option's own default applies
            continue
        if isinstance(value, list):
            for item in value:
                if "," in item or item != item.strip() or not item:
                    raise ConfigError(f"{opt.key}: {item!r} cannot be passed in {opt.env} "
                                      "(comma-separated)")
            env[opt.env] = ",".join(value)
        elif isinstance(value, bool):
            env[opt.env] = "true" if value else "false"
        else:
            env[opt.env] = str(value)
    return env


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError as exc:
        raise ConfigError(f"config file {path} does not exist") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"config file {path} is not UTF-8 text: {exc}") from exc
    except OSError as exc:
        raise ConfigError(f"config file {path} cannot be read: {exc.strerror or exc}") from exc


def _did_you_mean(key: str) -> str:
    close = difflib.get_close_matches(key, list(_BY_KEY), n=1)
    return f" (did you mean {close[0]}?)" if close else ""


def _check_blockpage(settings: Settings, key: str) -> None:
    if settings[key] == "blockpage" and not settings["gate.blockpage_ipv4"]:
        others = ", ".join(c for c in _BY_KEY[key].choices if c != "blockpage")
        raise ConfigError(f"{key}: 'blockpage' needs gate.blockpage_ipv4 (the IPv4 address of "
                          f"the block page); set it, or use one of {others}")


def _check_encrypted_dns(settings: Settings, key: str) -> None:
    tls = []
    if settings["gate.doh"] and not settings["gate.doh_plain"]:
        tls.append("gate.doh")
    if settings["gate.dot"]:
        tls.append("gate.dot")
        if not settings["gate.dot_hostname"]:
            raise ConfigError("gate.dot: DNS over TLS needs gate.dot_hostname (devices are "
                              "known by the server name TOKEN.<gate.dot_hostname>)")
    missing = [k for k in ("gate.tls_cert", "gate.tls_key") if not settings[k]]
    if tls and missing:
        raise ConfigError(f"{' and '.join(tls)}: TLS needs {' and '.join(missing)} (PEM "
                          "files; see docs/encrypted-dns.md), or leave it off"
                          + ("; for DoH behind a TLS proxy set gate.doh_plain = true"
                             if "gate.doh" in tls else ""))
    name = settings["gate.dot_hostname"]
    if name and not _HOSTNAME.fullmatch(name):
        raise ConfigError(f"gate.dot_hostname: {name!r} is not a host name "
                          "(e.g. dns.example.vn)")


def _check_signals(settings: Settings, key: str) -> None:
    if settings[key] > settings["signals.infection_window"]:
        raise ConfigError(f"{key}: {settings[key]} is longer than signals.infection_window "
                          f"({settings['signals.infection_window']}); the counted lookups "
                          "must fit in the window")


_HOSTNAME = re.compile(r"(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+"
                       r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?")

_CROSS_CHECKS: tuple[tuple[str, Callable[[Settings, str], None]], ...] = (
    ("gate.block_mode", _check_blockpage),
    ("gate.doh", _check_encrypted_dns),
    ("signals.infection_spread", _check_signals),
)


def _cross_check(settings: Settings) -> None:
    for key, check in _CROSS_CHECKS:
        check(settings, key)


def _toml(value: Any) -> str:
    """A default as it would be written in the TOML file."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return repr(value)


def options_markdown() -> str:
    """The reference table for docs/configuration.md."""
    rows = ["| key | environment variable | default | allowed | meaning |", "|---|---|---|---|---|"]
    for o in OPTIONS:
        default = "(see meaning)" if o.default is None else f"`{_toml(o.default)}`"
        cells = (f"`{o.key}`", f"`{o.env}`", default, _allowed(o), o.doc)
        rows.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(rows)
