"""Settings: defaults, the TOML file, SAFEGATE_* variables, precedence, and error messages
that name the key, the bad value and what is allowed. Also the generated reference page."""

from __future__ import annotations

import re
from pathlib import Path
from types import ModuleType

import pytest

from safegate.config import OPTIONS, ConfigError, Settings, load_settings, parse_addr
from tests.helpers import REPO, load_script


def toml(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "safegate.toml"
    path.write_text(text, encoding="utf-8")
    return path


def error(tmp_path: Path | None = None, text: str | None = None,
          env: dict[str, str] | None = None, **overrides: object) -> str:
    path = toml(tmp_path, text) if tmp_path is not None and text is not None else None
    with pytest.raises(ConfigError) as info:
        load_settings(path, env=env or {}, overrides=overrides or None)
    return str(info.value)


# ------------------------------------------------------------------ values and precedence


def test_defaults() -> None:
    settings = load_settings(env={})
    for opt in OPTIONS:
        assert settings[opt.key] == opt.default, opt.key
    assert settings["gate.cache_size"] == 100_000
    assert settings["gate.upstreams"] == ["1.1.1.1:53", "8.8.8.8:53"]
    assert settings.path is None
    assert settings.dns_address[0] == "0.0.0.0"
    assert settings.as_dict()["gate.block_mode"] == "null"


def test_file_values(tmp_path: Path) -> None:
    path = toml(tmp_path, """
[server]
data_dir = "/var/lib/safegate"
log_level = "debug"

[gate]
dns = "[::1]:5353"
cache_size = 5000
upstream_timeout = 1
serve_stale = false
upstreams = ["9.9.9.9:53", "https://dns.example/dns-query", "[2620:fe::fe]:53"]
block_mode = "blockpage"
blockpage_ipv4 = "192.168.1.10"
blockpage_ipv6 = "fd00::10"
allowed_networks = ["192.168.0.0/16", "fd00::/8"]

[policy]
default_categories = ["adult", "gambling"]
""")
    s = load_settings(path, env={})
    assert s.path == path
    assert s.data_dir == Path("/var/lib/safegate")
    assert s["server.log_level"] == "debug"
    assert s.dns_address == ("::1", 5353)
    assert s["gate.cache_size"] == 5000
    assert s["gate.upstream_timeout"] == 1.0
    assert s["gate.serve_stale"] is False
    assert s["gate.upstreams"][1] == "https://dns.example/dns-query"
    assert s["gate.block_mode"] == "blockpage"
    assert s["gate.blockpage_ipv6"] == "fd00::10"
    assert s["policy.default_categories"] == ["adult", "gambling"]
    assert s["querylog.retention_days"] == 30  # untouched keys keep their defaults


def test_dotted_keys_in_the_file(tmp_path: Path) -> None:
    s = load_settings(toml(tmp_path, 'gate.cache_size = 7\nquerylog.enabled = false\n'), env={})
    assert s["gate.cache_size"] == 7 and s["querylog.enabled"] is False


def test_precedence_defaults_file_env_command_line(tmp_path: Path) -> None:
    path = toml(tmp_path, "[gate]\ncache_size = 5000\nblock_ttl = 30\nmax_ttl = 600\n")
    env = {"SAFEGATE_GATE__CACHE_SIZE": "6000", "SAFEGATE_GATE__BLOCK_TTL": "40"}
    s = load_settings(path, env=env, overrides={"gate.cache_size": 7000})
    assert s["gate.cache_size"] == 7000  # command line beats env beats file
    assert s["gate.block_ttl"] == 40  # env beats file
    assert s["gate.max_ttl"] == 600  # file beats default
    assert s["gate.max_negative_ttl"] == 3600  # default


def test_config_file_from_env(tmp_path: Path) -> None:
    path = toml(tmp_path, "[gate]\ncache_size = 123\n")
    s = load_settings(env={"SAFEGATE_CONFIG": str(path)})
    assert s["gate.cache_size"] == 123 and s.path == path


def test_env_types() -> None:
    s = load_settings(env={
        "SAFEGATE_GATE__UPSTREAMS": " 9.9.9.9:53 , https://dns.example/dns-query,,",
        "SAFEGATE_GATE__BLOCKLISTS": "/a.txt,/b.txt.gz",
        "SAFEGATE_GATE__ALLOWED_NETWORKS": "10.0.0.0/8",
        "SAFEGATE_GATE__SERVE_STALE": "off",
        "SAFEGATE_QUERYLOG__ENABLED": "YES",
        "SAFEGATE_GATE__UPSTREAM_TIMEOUT": "0.5",
        "SAFEGATE_POLICY__DEFAULT_CATEGORIES": "adult,scam",
        "SAFEGATE_TEST_DATABASE_URL": "ignored: tests only",
    })
    assert s["gate.upstreams"] == ["9.9.9.9:53", "https://dns.example/dns-query"]
    assert s["gate.blocklists"] == ["/a.txt", "/b.txt.gz"]
    assert s["gate.allowed_networks"] == ["10.0.0.0/8"]
    assert s["gate.serve_stale"] is False and s["querylog.enabled"] is True
    assert s["gate.upstream_timeout"] == 0.5
    assert s["policy.default_categories"] == ["adult", "scam"]


def test_database_url_alias() -> None:
    url = "postgresql+psycopg://safegate@db/safegate"
    assert load_settings(env={"SAFEGATE_DATABASE_URL": url}).database_url == url
    s = load_settings(env={"SAFEGATE_DATABASE_URL": url,
                           "SAFEGATE_SERVER__DATABASE_URL": "sqlite:///x.db"})
    assert s.database_url == "sqlite:///x.db"


def test_with_overrides_validates() -> None:
    s = load_settings(env={})
    assert s.with_overrides({"gate.block_ttl": 5})["gate.block_ttl"] == 5
    assert s["gate.block_ttl"] == 60  # settings are not changed in place
    with pytest.raises(ConfigError, match="gate.block_ttl"):
        s.with_overrides({"gate.block_ttl": -1})
    with pytest.raises(ConfigError, match="gate.cache_sise.*did you mean gate.cache_size"):
        s.with_overrides({"gate.cache_sise": 1})
    with pytest.raises(ConfigError, match="blockpage_ipv4"):
        s.with_overrides({"gate.block_mode": "blockpage"})


@pytest.mark.parametrize(("text", "expected"), [
    ("127.0.0.1:53", ("127.0.0.1", 53)), ("[::1]:5353", ("::1", 5353)),
    ("::1:53", ("::1", 53)), (" 0.0.0.0:0 ", ("0.0.0.0", 0)),
])
def test_parse_addr(text: str, expected: tuple[str, int]) -> None:
    assert parse_addr(text) == expected


@pytest.mark.parametrize("text", ["1.2.3.4", "1.2.3.4:", "1.2.3.4:65536", "1.2.3.4:-1",
                                  "host.example:53", "[::1]53", "[::1]", "[::1]:x",
                                  ":53", "1.2.3.4: 53", "1.2.3.4:+53"])
def test_parse_addr_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        parse_addr(text)


# ------------------------------------------------------------------ errors


def assert_names(message: str, *parts: str) -> None:
    for part in parts:
        assert part in message, f"{part!r} not in {message!r}"


def test_unknown_key_in_file(tmp_path: Path) -> None:
    message = error(tmp_path, "[gate]\ncache_sise = 10\n")
    assert_names(message, "gate.cache_sise", "unknown setting", "did you mean gate.cache_size",
                 str(tmp_path / "safegate.toml"))
    assert_names(error(tmp_path, "[gaet]\nx = 1\n"), "gaet.x", "unknown setting")


def test_unknown_env_var() -> None:
    message = error(env={"SAFEGATE_GATE__CACHESIZE": "10"})
    assert_names(message, "SAFEGATE_GATE__CACHESIZE", "unknown environment setting",
                 "SAFEGATE_GATE__CACHE_SIZE")
    assert_names(error(env={"SAFEGATE_FOO": "1"}), "SAFEGATE_FOO")


BAD_FILE_VALUES = [
    # (toml, key, bad value as shown, words of what is allowed)
    ("[gate]\ncache_size = -1", "gate.cache_size", "-1", ">= 0 and <= 50000000"),
    ("[gate]\ncache_size = 1.5", "gate.cache_size", "1.5", "a whole number"),
    ('[gate]\ncache_size = "100"', "gate.cache_size", "'100'", "a whole number"),
    ("[gate]\ncache_size = true", "gate.cache_size", "True", "a whole number"),
    ("[gate]\nupstream_timeout = 0", "gate.upstream_timeout", "0", ">= 0.05 and <= 30"),
    ("[gate]\nupstream_timeout = nan", "gate.upstream_timeout", "nan", "a number"),
    ("[gate]\nupstream_timeout = inf", "gate.upstream_timeout", "inf", "a number"),
    ('[gate]\nblock_mode = "maybe"', "gate.block_mode", "'maybe'", "null, nxdomain, blockpage"),
    ('[gate]\nserve_stale = "yes"', "gate.serve_stale", "'yes'", "true or false"),
    ('[gate]\ndns = "nonsense"', "gate.dns", "'nonsense'", "IP:PORT"),
    ('[gate]\ndns = "localhost:53"', "gate.dns", "'localhost:53'", "IP:PORT"),
    ("[gate]\ndns = 53", "gate.dns", "53", "IP:PORT"),
    ('[gate]\nupstreams = ["1.2.3.4"]', "gate.upstreams", "'1.2.3.4'", "IP:PORT"),
    ('[gate]\nupstreams = ["9.9.9.9:53", "dns.google"]', "gate.upstreams", "'dns.google'",
     "https:// URLs"),
    ("[gate]\nupstreams = []", "gate.upstreams", "[]", "a non-empty list"),
    ('[gate]\nupstreams = "1.1.1.1:53"', "gate.upstreams", "'1.1.1.1:53'", "list"),
    ("[gate]\nupstreams = [53]", "gate.upstreams", "53", "IP:PORT"),
    ('[gate]\nallowed_networks = ["10.0.0.0/33"]', "gate.allowed_networks", "'10.0.0.0/33'",
     "CIDR"),
    ('[gate]\nallowed_networks = ["192.168.0.0/16", "lan"]', "gate.allowed_networks",
     "'lan'", "CIDR"),
    ('[gate]\nblockpage_ipv4 = "::1"', "gate.blockpage_ipv4", "'::1'", "an IPv4 address"),
    ('[gate]\nblockpage_ipv6 = "192.0.2.1"', "gate.blockpage_ipv6", "'192.0.2.1'",
     "an IPv6 address"),
    ('[gate]\nblockpage_ipv4 = "blockpage.local"', "gate.blockpage_ipv4", "'blockpage.local'",
     "an IPv4 address"),
    ('[server]\nlog_level = "verbose"', "server.log_level", "'verbose'", "debug, info"),
    ('[policy]\ndefault_categories = ["adult", "porn"]', "policy.default_categories",
     "'porn'", "adult, "),
    ("[server]\ndata_dir = 5", "server.data_dir", "5", "a string"),
]


@pytest.mark.parametrize(("text", "key", "value", "allowed"), BAD_FILE_VALUES,
                         ids=[case[0].split("\n")[1] for case in BAD_FILE_VALUES])
def test_bad_file_values(tmp_path: Path, text: str, key: str, value: str,
                         allowed: str) -> None:
    message = error(tmp_path, text + "\n")
    assert_names(message, key, value, "expected", allowed, "safegate.toml")


BAD_ENV_VALUES = [
    ("SAFEGATE_GATE__CACHE_SIZE", "-5", "gate.cache_size", ">= 0"),
    ("SAFEGATE_GATE__CACHE_SIZE", "lots", "gate.cache_size", "a whole number"),
    ("SAFEGATE_GATE__BLOCK_MODE", "maybe", "gate.block_mode", "null, nxdomain, blockpage"),
    ("SAFEGATE_GATE__SERVE_STALE", "perhaps", "gate.serve_stale", "true or false"),
    ("SAFEGATE_GATE__DNS", "nonsense", "gate.dns", "IP:PORT"),
    ("SAFEGATE_GATE__UPSTREAMS", "1.2.3.4", "gate.upstreams", "IP:PORT"),
    ("SAFEGATE_GATE__UPSTREAMS", "", "gate.upstreams", "non-empty"),
    ("SAFEGATE_GATE__ALLOWED_NETWORKS", "10.0.0.0/8,300.0.0.0/8", "gate.allowed_networks",
     "CIDR"),
    ("SAFEGATE_GATE__UPSTREAM_TIMEOUT", "nan", "gate.upstream_timeout", "a number"),
]


@pytest.mark.parametrize(("name", "value", "key", "allowed"), BAD_ENV_VALUES)
def test_bad_env_values(name: str, value: str, key: str, allowed: str) -> None:
    message = error(env={name: value})
    assert_names(message, key, name, "expected", allowed)
    if value and "," not in value:
        assert repr(value) in message


def test_env_overrides_a_bad_file_value_only_if_itself_valid(tmp_path: Path) -> None:
    # The file is checked even when the environment overrides the same key.
    message = error(tmp_path, "[gate]\ncache_size = -1\n",
                    env={"SAFEGATE_GATE__CACHE_SIZE": "10"})
    assert_names(message, "gate.cache_size", "-1")


def test_blockpage_mode_needs_an_address(tmp_path: Path) -> None:
    message = error(tmp_path, '[gate]\nblock_mode = "blockpage"\n')
    assert_names(message, "gate.block_mode", "blockpage", "gate.blockpage_ipv4", "null",
                 "nxdomain")
    s = load_settings(toml(tmp_path, '[gate]\nblock_mode = "blockpage"\n'
                                     'blockpage_ipv4 = "192.0.2.7"\n'), env={})
    assert s["gate.blockpage_ipv6"] == ""


def test_invalid_toml(tmp_path: Path) -> None:
    assert_names(error(tmp_path, "[gate\ncache_size = 1\n"), "not valid TOML", "safegate.toml")
    assert_names(error(tmp_path, "[gate]\ncache_size = 1\ncache_size = 2\n"), "not valid TOML")


def test_missing_unreadable_and_binary_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "nope.toml", env={})
    with pytest.raises(ConfigError, match="nope.toml"):
        load_settings(env={"SAFEGATE_CONFIG": str(tmp_path / "nope.toml")})
    with pytest.raises(ConfigError, match="cannot be read"):
        load_settings(tmp_path, env={})  # a directory
    binary = tmp_path / "binary.toml"
    binary.write_bytes(b"[gate]\ncache_size = 1 # \xff\xfe\n")
    with pytest.raises(ConfigError, match="binary.toml"):
        load_settings(binary, env={})


def test_every_option_is_documented_and_valid() -> None:
    keys = [o.key for o in OPTIONS]
    assert len(keys) == len(set(keys))
    for opt in OPTIONS:
        assert re.fullmatch(r"[a-z]+\.[a-z0-9_]+", opt.key), opt.key
        assert opt.doc.endswith("."), opt.key
        assert opt.env == "SAFEGATE_" + opt.key.upper().replace(".", "__")
    assert isinstance(load_settings(env={}), Settings)


# ------------------------------------------------------------------ docs/configuration.md


def load_generator() -> ModuleType:
    return load_script("gen_config_doc")


def test_configuration_doc_is_up_to_date() -> None:
    doc = REPO / "docs" / "configuration.md"
    assert doc.exists(), "run: python scripts/gen_config_doc.py"
    assert doc.read_text(encoding="utf-8") == load_generator().render(), (
        "docs/configuration.md is stale: run python scripts/gen_config_doc.py")


def test_configuration_doc_content(tmp_path: Path) -> None:
    text = load_generator().render()
    for opt in OPTIONS:
        assert f"| `{opt.key}` | `{opt.env}` |" in text
    assert "defaults" in text and "SAFEGATE_GATE__CACHE_SIZE" in text
    example = text.split("```toml\n", 1)[1].split("```", 1)[0]
    settings = load_settings(toml(tmp_path, example), env={})
    assert settings["gate.block_mode"] == "blockpage"
