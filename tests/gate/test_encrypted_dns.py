"""DNS over HTTPS and DNS over TLS through a real gate, a test CA and real clients (kdig over
HTTP/2 and TLS, dnspython's DoH over HTTP/1.1 and HTTP/2, its DoT): a device's token picks
its child's policy; a wrong or removed token gets the operator default; bad requests get a
4xx and bad TLS ends one connection, never the listener."""

from __future__ import annotations

import shutil
import socket
import ssl
import subprocess
from pathlib import Path
from typing import Any

import dns.edns
import dns.message
import dns.query
import dns.rcode
import httpx2
import pytest

from safegate.app.family import remove_device
from safegate.config import ConfigError, load_settings
from safegate.gate.doh import DohError, client_address, parse_request
from safegate.gate.dot import token_from_sni
from safegate.policy.compiled import dot_label
from safegate.store.db import session_factory
from safegate.store.models import Profile
from safegate.store.repo import update_policy
from tests.helpers import Pki, addresses, device_tokens, make_pki

AN_TABLET, BINH_PHONE = "Máy tính bảng của An", "Điện thoại của Bình"
BLOCKED = "0.0.0.0"
ALLOWED = "192.0.2.1"  # the fake upstream's answer
WRONG = "AAAAAAAAAAAAAAAAAAAAAA"

needs_kdig = pytest.mark.skipif(shutil.which("kdig") is None, reason="kdig not installed")


@pytest.fixture
def pki(tmp_path: Path) -> Pki:
    return make_pki(tmp_path / "pki")


def _start(make_gate: Any, pki: Pki, **overrides: Any) -> Any:
    settings = {"gate.doh": "127.0.0.1:0", "gate.dot": "127.0.0.1:0",
                "gate.tls_cert": str(pki.cert), "gate.tls_key": str(pki.key),
                "gate.dot_hostname": "dns.test", **overrides}
    g = make_gate(demo=True, **settings)
    # An may not play games, Bình may not watch videos; the operator default denies neither.
    with session_factory(g.runtime.engine).begin() as session:
        ids = {p.name: p.id for p in session.query(Profile).all()}
        update_policy(session, ids["An"], deny=["game.example"])
        update_policy(session, ids["Bình"], deny=["video.example"])
    g.reload()
    g.tokens = device_tokens(g.runtime.engine)
    return g


def _trust(pki: Pki) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(pki.ca))


def _kdig(*args: str) -> list[str]:
    out = subprocess.run(["kdig", "+short", "+timeout=5", "+retry=0", *args],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr + out.stdout
    return [line for line in out.stdout.split() if line and not line.startswith(";")]


def _kdig_doh(g: Any, pki: Pki, token: str, name: str) -> list[str]:
    return _kdig(f"+https=/dns-query/{token}", "@127.0.0.1", "-p", str(g.runtime.doh_port),
                 f"+tls-ca={pki.ca}", "+tls-hostname=dns.test", name)


def _kdig_dot(g: Any, pki: Pki, server_name: str, name: str) -> list[str]:
    return _kdig("+tls", f"+tls-sni={server_name}", "@127.0.0.1", "-p",
                 str(g.runtime.dot_port), f"+tls-ca={pki.ca}", "+tls-hostname=dns.test", name)


def _doh(g: Any, pki: Pki, token: str, name: str, *, post: bool) -> list[str]:
    version = dns.query.HTTPVersion.H2 if post else dns.query.HTTPVersion.H1
    response = dns.query.https(
        dns.message.make_query(name, "A"),
        f"https://dns.test:{g.runtime.doh_port}/dns-query/{token}",
        bootstrap_address="127.0.0.1", verify=_trust(pki), post=post, timeout=5,
        http_version=version)
    return addresses(response)


def _dot(g: Any, pki: Pki, server_name: str, name: str) -> list[str]:
    context = ssl.create_default_context(cafile=str(pki.ca))
    context.check_hostname = False  # the name checked is dns.test; the SNI carries the token
    response = dns.query.tls(dns.message.make_query(name, "A"), "127.0.0.1",
                             port=g.runtime.dot_port, ssl_context=context,
                             server_hostname=server_name, timeout=5)
    return addresses(response)


@needs_kdig
def test_kdig_doh_and_dot_apply_the_childs_policy(make_gate: Any, pki: Pki) -> None:
    g = _start(make_gate, pki)
    an, binh = g.tokens[AN_TABLET], g.tokens[BINH_PHONE]
    assert _kdig_doh(g, pki, an, "game.example") == [BLOCKED]
    assert _kdig_doh(g, pki, an, "video.example") == [ALLOWED]
    assert _kdig_doh(g, pki, binh, "game.example") == [ALLOWED]
    assert _kdig_doh(g, pki, binh, "video.example") == [BLOCKED]
    # A wrong token: the operator default (from 127.0.0.1, no device's address).
    assert _kdig_doh(g, pki, WRONG, "game.example") == [ALLOWED]
    assert _kdig_doh(g, pki, WRONG, "video.example") == [ALLOWED]

    assert _kdig_dot(g, pki, f"{an}.dns.test", "game.example") == [BLOCKED]
    assert _kdig_dot(g, pki, f"{binh}.dns.test", "video.example") == [BLOCKED]
    assert _kdig_dot(g, pki, f"{binh}.dns.test", "game.example") == [ALLOWED]
    # The DoT label (what Android is given), in any case.
    assert _kdig_dot(g, pki, f"{dot_label(an)}.dns.test", "game.example") == [BLOCKED]
    assert _kdig_dot(g, pki, f"{dot_label(an).upper()}.DNS.test", "game.example") == [BLOCKED]
    assert _kdig_dot(g, pki, f"{WRONG}.dns.test", "game.example") == [ALLOWED]
    assert _kdig_dot(g, pki, f"{an}.other.test", "game.example") == [ALLOWED]


def test_dnspython_doh_get_post_and_dot(make_gate: Any, pki: Pki) -> None:
    g = _start(make_gate, pki)
    an, binh = g.tokens[AN_TABLET], g.tokens[BINH_PHONE]
    for post in (False, True):  # GET over HTTP/1.1, POST over HTTP/2
        assert _doh(g, pki, an, "game.example", post=post) == [BLOCKED]
        assert _doh(g, pki, binh, "game.example", post=post) == [ALLOWED]
        assert _doh(g, pki, binh, "www.video.example", post=post) == [BLOCKED]
        assert _doh(g, pki, WRONG, "game.example", post=post) == [ALLOWED]
        assert _doh(g, pki, an[:-1], "game.example", post=post) == [ALLOWED]
    assert _dot(g, pki, f"{an}.dns.test", "game.example") == [BLOCKED]
    assert _dot(g, pki, f"{binh}.dns.test", "game.example") == [ALLOWED]
    assert _dot(g, pki, f"{WRONG}.dns.test", "video.example") == [ALLOWED]
    assert g.gate.stats.handler_errors == 0


def test_a_removed_devices_token_gets_the_default_after_the_reload(make_gate: Any,
                                                                   pki: Pki) -> None:
    g = _start(make_gate, pki)
    binh = g.tokens[BINH_PHONE]
    assert _doh(g, pki, binh, "video.example", post=True) == [BLOCKED]
    assert _dot(g, pki, f"{binh}.dns.test", "video.example") == [BLOCKED]
    remove_device(g.runtime.app, "Bình", BINH_PHONE)
    g.reload()
    assert _doh(g, pki, binh, "video.example", post=True) == [ALLOWED]
    assert _doh(g, pki, binh, "video.example", post=False) == [ALLOWED]
    assert _dot(g, pki, f"{binh}.dns.test", "video.example") == [ALLOWED]
    # An's token still works on the new snapshot.
    assert _doh(g, pki, g.tokens[AN_TABLET], "game.example", post=True) == [BLOCKED]


def _raw_https(port: int, ca: Path, request: bytes) -> bytes:
    context = ssl.create_default_context(cafile=str(ca))
    context.set_alpn_protocols(["http/1.1"])
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw, \
            context.wrap_socket(raw, server_hostname="dns.test") as tls:
        tls.sendall(request)
        chunks = []
        while True:
            try:
                chunk = tls.recv(65536)
            except (ssl.SSLError, ConnectionError):
                break
            if not chunk:
                break
            chunks.append(chunk)
        return b"".join(chunks)


def _status(response: bytes) -> int:
    return int(response.split(b" ", 2)[1])


def test_malformed_doh_requests_get_4xx_and_the_server_keeps_serving(make_gate: Any,
                                                                     pki: Pki) -> None:
    g = _start(make_gate, pki)
    an = g.tokens[AN_TABLET]
    port = g.runtime.doh_port

    def one(request: str, body: bytes = b"") -> int:
        return _status(_raw_https(port, pki.ca, request.encode() + body))

    head = "Host: dns.test\r\nConnection: close\r\n"
    assert one(f"GET /dns-query/{an}?dns=!!!notbase64 HTTP/1.1\r\n{head}\r\n") == 400
    assert one(f"GET /dns-query/{an}?dns=AAAA HTTP/1.1\r\n{head}\r\n") == 400  # 3 bytes
    assert one(f"GET /dns-query/{an} HTTP/1.1\r\n{head}\r\n") == 400  # no dns=
    assert one(f"GET /other?dns=AAAA HTTP/1.1\r\n{head}\r\n") == 404
    assert one(f"GET /dns-query/{an}/../x?dns=AAAA HTTP/1.1\r\n{head}\r\n") == 404
    assert one(f"PUT /dns-query/{an} HTTP/1.1\r\n{head}Content-Length: 0\r\n\r\n") == 405
    query = dns.message.make_query("game.example", "A").to_wire()
    assert one(f"POST /dns-query/{an} HTTP/1.1\r\n{head}Content-Type: text/plain\r\n"
               f"Content-Length: {len(query)}\r\n\r\n", query) == 415
    assert one(f"POST /dns-query/{an} HTTP/1.1\r\n{head}Content-Type: application/dns-message"
               "\r\nContent-Length: 10000000\r\n\r\n", b"x" * 70_000) == 413
    assert one(f"POST /dns-query/{an} HTTP/1.1\r\n{head}Transfer-Encoding: chunked\r\n\r\n"
               "0\r\n\r\n") == 411
    assert one(f"GET /dns-query/{an}?dns=AAAA HTTP/1.1\r\n{head}X-Big: {'a' * 40_000}\r\n"
               "\r\n") == 431
    assert one("NONSENSE\r\n\r\n") == 400
    # HTTP/2: a body larger than any DNS message and a bad dns= parameter.
    with httpx2.Client(http1=False, http2=True, verify=_trust(pki)) as client:
        url = f"https://127.0.0.1:{port}/dns-query/{an}"
        huge = client.post(url, content=b"\0" * 70_000,
                           headers={"content-type": "application/dns-message"})
        assert (huge.status_code, huge.http_version) == (413, "HTTP/2")
        assert client.get(url, params={"dns": "%%%"}).status_code == 400
        assert client.get(f"https://127.0.0.1:{port}/nope").status_code == 404
        good = client.post(url, content=query,
                           headers={"content-type": "application/dns-message"})
        assert good.status_code == 200
        assert addresses(dns.message.from_wire(good.content)) == [BLOCKED]
    # Still serving, over both HTTP versions.
    assert _doh(g, pki, an, "game.example", post=False) == [BLOCKED]
    assert _doh(g, pki, an, "game.example", post=True) == [BLOCKED]
    assert g.gate.stats.handler_errors == 0


def test_tls_garbage_does_not_kill_the_listeners(make_gate: Any, pki: Pki) -> None:
    g = _start(make_gate, pki)
    an = g.tokens[AN_TABLET]
    for port in (g.runtime.doh_port, g.runtime.dot_port):
        for junk in (b"\x16\x03\x01\x02\x00" + b"\xff" * 600, b"GET / HTTP/1.1\r\n\r\n",
                     b"\x00" * 5, b""):
            with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
                sock.sendall(junk)
                sock.shutdown(socket.SHUT_WR)
                sock.settimeout(5)
                try:
                    while sock.recv(4096):
                        pass
                except (TimeoutError, ConnectionError):
                    pass
        # A handshake with a client that does not trust the certificate: fails, nothing else.
        with pytest.raises(ssl.SSLError), \
                socket.create_connection(("127.0.0.1", port), timeout=5) as raw, \
                ssl.create_default_context().wrap_socket(raw, server_hostname="dns.test"):
            pass
    assert _doh(g, pki, an, "game.example", post=True) == [BLOCKED]
    assert _dot(g, pki, f"{an}.dns.test", "game.example") == [BLOCKED]


def test_plain_doh_believes_x_forwarded_for_only_from_a_trusted_proxy(make_gate: Any,
                                                                      pki: Pki) -> None:
    query = dns.message.make_query("game.example", "A").to_wire()
    # 127.0.0.2 is An's tablet by address; the request names no token.
    headers = {"content-type": "application/dns-message", "x-forwarded-for": "127.0.0.2"}
    for trusted, expected in ((["127.0.0.1/32"], [BLOCKED]), ([], [ALLOWED])):
        g = _start(make_gate, pki, **{"gate.doh_plain": True, "gate.dot": "",
                                      "gate.trusted_forwarders": trusted})
        url = f"http://127.0.0.1:{g.runtime.doh_port}/dns-query"
        with httpx2.Client() as client:
            reply = client.post(url, content=query, headers=headers)
        assert reply.status_code == 200
        assert addresses(dns.message.from_wire(reply.content)) == expected, trusted
        # HTTP/2 with prior knowledge (a proxy that speaks h2c) works too.
        with httpx2.Client(http1=False, http2=True) as client:
            reply = client.post(url + "/" + g.tokens[AN_TABLET], content=query,
                                headers={"content-type": "application/dns-message"})
        assert (reply.status_code, reply.http_version) == (200, "HTTP/2")
        assert addresses(dns.message.from_wire(reply.content)) == [BLOCKED]


def test_refused_outside_the_allowed_networks_unless_the_token_is_known(
        make_gate: Any, pki: Pki) -> None:
    g = _start(make_gate, pki, **{"gate.allowed_networks": ["10.0.0.0/8"]})
    an = g.tokens[AN_TABLET]
    # 127.0.0.1 is not allowed: a known token is served anywhere, anything else is refused.
    assert _doh(g, pki, an, "game.example", post=True) == [BLOCKED]
    response = dns.query.https(dns.message.make_query("game.example", "A"),
                               f"https://dns.test:{g.runtime.doh_port}/dns-query/{WRONG}",
                               bootstrap_address="127.0.0.1", verify=_trust(pki), timeout=5,
                               http_version=dns.query.HTTPVersion.H2)
    assert response.rcode() == dns.rcode.REFUSED


def test_parse_request_and_sni() -> None:
    wire_query = dns.message.make_query("example.com", "A").to_wire()
    import base64

    text = base64.urlsafe_b64encode(wire_query).decode().rstrip("=")
    assert parse_request("GET", f"/dns-query/abc_-9?dns={text}", None, b"") == \
        ("abc_-9", wire_query)
    assert parse_request("GET", f"/dns-query?dns={text}", None, b"") == (None, wire_query)
    assert parse_request("POST", "/dns-query/t", "application/dns-message; x=1",
                         wire_query) == ("t", wire_query)
    for args, status in ((("GET", "/dns-query/a b?dns=" + text, None, b""), 404),
                         (("GET", "/dns-query/a?dns=" + text + "&dns=" + text, None, b""), 400),
                         (("POST", "/dns-query/a", "application/json", wire_query), 415),
                         (("POST", "/dns-query/a", "application/dns-message", b"\0" * 65536),
                          413),
                         (("DELETE", "/dns-query/a", None, b""), 405)):
        with pytest.raises(DohError) as err:
            parse_request(*args)  # type: ignore[arg-type]
        assert err.value.status == status
    assert token_from_sni("Tok.DNS.test.", "dns.test") == "Tok"
    assert token_from_sni("dns.test", "dns.test") is None
    assert token_from_sni("a.b.dns.test", "dns.test") is None
    assert token_from_sni("tok.evil.test", "dns.test") is None
    label = dot_label("d0V5LvIDUMRSQAFiLGFDWQ")
    assert len(label) == 26 and label.isalnum() and label == label.lower()
    assert client_address("127.0.0.1", "10.0.0.1, 10.0.0.9", True,
                          [__import__("ipaddress").ip_network("127.0.0.0/8")]) == "10.0.0.9"
    assert client_address("127.0.0.1", "10.0.0.9", False,
                          [__import__("ipaddress").ip_network("127.0.0.0/8")]) == "127.0.0.1"
    assert client_address("192.0.2.7", "10.0.0.9", True, []) == "192.0.2.7"
    assert client_address("127.0.0.1", "not an ip", True,
                          [__import__("ipaddress").ip_network("127.0.0.0/8")]) == "127.0.0.1"


def test_tls_settings_are_checked(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="gate.tls_cert and gate.tls_key"):
        load_settings(env={}, overrides={"gate.doh": "127.0.0.1:8443"})
    with pytest.raises(ConfigError, match="gate.dot_hostname"):
        load_settings(env={}, overrides={"gate.dot": "127.0.0.1:853", "gate.tls_cert": "c",
                                         "gate.tls_key": "k"})
    with pytest.raises(ConfigError, match="not a host name"):
        load_settings(env={}, overrides={"gate.dot_hostname": "bad_name..vn"})
    plain = load_settings(env={}, overrides={"gate.doh": "127.0.0.1:8080",
                                             "gate.doh_plain": True})
    assert plain["gate.doh"] == "127.0.0.1:8080"
    assert load_settings(env={})["gate.doh"] == ""  # off by default


def test_a_missing_certificate_stops_the_start_with_a_config_error(make_gate: Any,
                                                                    tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot load the TLS certificate"):
        make_gate(**{"gate.dot": "127.0.0.1:0", "gate.dot_hostname": "dns.test",
                     "gate.tls_cert": str(tmp_path / "none.pem"),
                     "gate.tls_key": str(tmp_path / "none.key")})


def test_a_mac_option_over_dot_is_never_believed(make_gate: Any, pki: Pki) -> None:
    """DoH and DoT come from the device itself: even from a trusted forwarder's address, a
    MAC option there (Bình's phone here) does not pick Bình's profile for an unknown token."""
    g = _start(make_gate, pki, **{"gate.trusted_forwarders": ["127.0.0.1"]})
    mac = dns.edns.GenericOption(65001, bytes.fromhex("020000000021"))
    context = ssl.create_default_context(cafile=str(pki.ca))
    context.check_hostname = False
    for _ in range(2):  # the second time from the client the gate remembers
        query = dns.message.make_query("video.example", "A", use_edns=0, options=[mac])
        response = dns.query.tls(query, "127.0.0.1", port=g.runtime.dot_port,
                                 ssl_context=context, server_hostname=f"{WRONG}.dns.test",
                                 timeout=5)
        assert addresses(response) == [ALLOWED]  # the default; Bình's profile denies it
    # ...while the same option over plain DNS from that forwarder picks Bình's profile.
    plain = dns.query.udp(dns.message.make_query("video.example", "A", use_edns=0,
                                                 options=[mac]), "127.0.0.1", port=g.port,
                          timeout=3)
    assert addresses(plain) == [BLOCKED]
