"""Settings: one TOML file plus ``SAFEGATE_*`` environment variables, validated at start.

Every option is declared once in ``OPTIONS`` with its type, default, allowed values and a
sentence of documentation; ``docs/configuration.md`` is generated from the same table.
A bad value raises ``ConfigError`` naming the key, the value and what is allowed.
Environment variables override the file: ``gate.cache_size`` is ``SAFEGATE_GATE__CACHE_SIZE``
(sections joined by a double underscore); lists are comma-separated.
"""

from __future__ import annotations

import ipaddress
import os
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ENV_PREFIX = "SAFEGATE_"


class ConfigError(ValueError):
    """A setting with a value that is not allowed; the message says which and why."""


@dataclass(frozen=True, slots=True)
class Option:
    key: str  # dotted, e.g. "gate.cache_size"
    kind: str  # "str" | "int" | "float" | "bool" | "list" | "choice" | "addr" | "nets"
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
           "Directory for the SQLite database, the pid file and compiled state."),
    Option("server.database_url", "str", "",
           "SQLAlchemy URL of the store; empty means SQLite in the data directory. "
           "Use postgresql+psycopg://user@host/db for many nodes."),
    Option("server.log_level", "choice", "info", "Level of the server's own log.",
           choices=("debug", "info", "warning", "error")),
    Option("gate.dns", "addr", None,
           "UDP and TCP address of the resolver. Default 0.0.0.0:53 as root, else 0.0.0.0:5353."),
    Option("gate.upstreams", "list", ["1.1.1.1:53", "8.8.8.8:53"],
           "Upstream resolvers, tried in order with failover: HOST:PORT for UDP/TCP, or an "
           "https:// URL for DNS over HTTPS (RFC 8484)."),
    Option("gate.upstream_timeout", "float", 2.0,
           "Seconds to wait for one upstream before trying the next.", minimum=0.05, maximum=30),
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
    Option("gate.blockpage_ipv4", "str", "", "IPv4 address of the block page (blockpage mode)."),
    Option("gate.blockpage_ipv6", "str", "", "IPv6 address of the block page (blockpage mode)."),
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
    Option("gate.max_tcp_connections", "int", 512, "Concurrent TCP clients.", minimum=1,
           maximum=100_000),
    Option("querylog.enabled", "bool", True, "Record queries in the store."),
    Option("querylog.retention_days", "int", 30, "Days query log rows are kept.", minimum=0,
           maximum=3_650),
    Option("querylog.ring_size", "int", 200_000,
           "Records held in memory between writes; beyond it the oldest are dropped and "
           "counted.", minimum=100, maximum=10_000_000),
    Option("querylog.flush_interval", "float", 1.0, "Seconds between batch writes.",
           minimum=0.05, maximum=60),
    Option("policy.default_categories", "list", None,
           "Categories blocked for clients that are not a known device. Default: every "
           "category the taxonomy marks as blocked by default."),
    Option("policy.default_log_level", "choice", "full",
           "Query logging for unknown clients: full, domains (no client address, hour "
           "resolution) or off.", choices=("full", "domains", "off")),
)

_BY_KEY = {o.key: o for o in OPTIONS}


def _allowed(opt: Option) -> str:
    if opt.kind == "choice":
        return "one of " + ", ".join(opt.choices)
    if opt.kind == "bool":
        return "true or false"
    if opt.kind in ("int", "float"):
        lo = "" if opt.minimum is None else f" >= {opt.minimum:g}"
        hi = "" if opt.maximum is None else f" <= {opt.maximum:g}"
        what = "a whole number" if opt.kind == "int" else "a number"
        return what + (lo + (" and" if lo and hi else "") + hi)
    if opt.kind == "addr":
        return "HOST:PORT, e.g. 127.0.0.1:5353 or [::1]:53"
    if opt.kind == "nets":
        return "a list of networks in CIDR form, e.g. 192.168.0.0/16"
    if opt.kind == "list":
        return "a list of strings"
    return "a string"


def _bad(opt: Option, value: object, source: str) -> ConfigError:
    return ConfigError(f"{opt.key} ({source}): {value!r} is not allowed; expected {_allowed(opt)}")


def parse_addr(text: str) -> tuple[str, int]:
    """``HOST:PORT`` → (host, port); IPv6 hosts in brackets."""
    text = text.strip()
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port_text = rest.removeprefix(":")
    else:
        host, sep, port_text = text.rpartition(":")
        if not sep:
            raise ValueError("missing :PORT")
    ipaddress.ip_address(host)
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
            if f is None:
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
            parse_addr(value)
            return value
        if opt.kind in ("list", "nets"):
            items = [s.strip() for s in value.split(",") if s.strip()] if from_env else value
            if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
                raise ValueError
            if opt.kind == "nets":
                for item in items:
                    ipaddress.ip_network(item, strict=False)
            return items
        if not isinstance(value, str):
            raise ValueError
        return value
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
        values = dict(self._values)
        for key, value in overrides.items():
            values[key] = _coerce(_BY_KEY[key], value, "command line")
        return Settings(values, self.path)

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
    if path is None and environ.get(ENV_PREFIX + "CONFIG"):
        path = Path(environ[ENV_PREFIX + "CONFIG"])
    values = {o.key: o.default for o in OPTIONS}
    if path is not None:
        try:
            with open(path, "rb") as fh:
                table = tomllib.load(fh)
        except FileNotFoundError as exc:
            raise ConfigError(f"config file {path} does not exist") from exc
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"config file {path} is not valid TOML: {exc}") from exc
        for key, value in _flatten(table).items():
            opt = _BY_KEY.get(key)
            if opt is None:
                raise ConfigError(f"{key} (in {path}): unknown setting; see docs/configuration.md")
            values[key] = _coerce(opt, value, f"in {path}")
    for opt in OPTIONS:
        if opt.env in environ:
            values[opt.key] = _coerce(opt, environ[opt.env], f"env {opt.env}")
    for name in environ:
        if name.startswith(ENV_PREFIX) and name != ENV_PREFIX + "CONFIG" and not any(
            o.env == name for o in OPTIONS
        ) and not name.startswith(ENV_PREFIX + "TEST_"):
            raise ConfigError(f"{name}: unknown environment setting; see docs/configuration.md")
    settings = Settings(values, path)
    if overrides:
        settings = settings.with_overrides(overrides)
    for key, check in _CROSS_CHECKS:
        check(settings, key)
    return settings


def _check_blockpage(settings: Settings, key: str) -> None:
    for k in ("gate.blockpage_ipv4", "gate.blockpage_ipv6"):
        if settings[k]:
            try:
                ip = ipaddress.ip_address(settings[k])
            except ValueError as exc:
                raise ConfigError(f"{k}: {settings[k]!r} is not an IP address") from exc
            if (ip.version == 4) != (k.endswith("ipv4")):
                raise ConfigError(f"{k}: {settings[k]!r} is the wrong address family")
    if settings[key] == "blockpage" and not settings["gate.blockpage_ipv4"]:
        raise ConfigError("gate.block_mode is blockpage but gate.blockpage_ipv4 is not set")


def _check_upstreams(settings: Settings, key: str) -> None:
    for item in settings[key]:
        if item.startswith(("https://", "http://")):
            continue
        try:
            parse_addr(item)
        except ValueError as exc:
            raise ConfigError(
                f"{key}: {item!r} is not allowed; expected HOST:PORT or an https:// URL"
            ) from exc


_CROSS_CHECKS: tuple[tuple[str, Callable[[Settings, str], None]], ...] = (
    ("gate.block_mode", _check_blockpage),
    ("gate.upstreams", _check_upstreams),
)


def options_markdown() -> str:
    """The reference table for docs/configuration.md."""
    rows = ["| key | environment variable | default | allowed | meaning |", "|---|---|---|---|---|"]
    for o in OPTIONS:
        default = "(see meaning)" if o.default is None else f"`{o.default!r}`".replace("|", "\\|")
        rows.append(f"| `{o.key}` | `{o.env}` | {default} | {_allowed(o)} | {o.doc} |")
    return "\n".join(rows)
