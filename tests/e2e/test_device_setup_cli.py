"""`safegate device setup`: the set-up material a parent gets for one device — the Apple
profile parses as a plist with the device's DoH URL, the QR code draws that URL, Android's
hostname is the device's DoT label, text in Vietnamese and English."""

from __future__ import annotations

import io
import json
import plistlib
import xml.etree.ElementTree as ET
from pathlib import Path

import segno

from safegate.policy.compiled import dot_label
from safegate.store import make_engine, sqlite_url
from tests.helpers import cli, demo_data_dir, device_tokens, make_pki

TABLET = "Máy tính bảng của An"


def _setup(tmp_path: Path) -> tuple[Path, dict[str, str], dict[str, str]]:
    data = demo_data_dir(tmp_path / "data")
    pki = make_pki(tmp_path / "pki")
    env = {"SAFEGATE_GATE__DOT_HOSTNAME": "dns.test", "SAFEGATE_GATE__DOH": "0.0.0.0:8443",
           "SAFEGATE_GATE__DOT": "0.0.0.0:853", "SAFEGATE_GATE__TLS_CERT": str(pki.cert),
           "SAFEGATE_GATE__TLS_KEY": str(pki.key), "SAFEGATE_GATE__DNS": "192.168.1.2:53"}
    engine = make_engine(sqlite_url(data))
    tokens = device_tokens(engine)
    engine.dispose()
    return data, env, tokens


def _svg(text: str) -> bytes:
    out = io.BytesIO()
    segno.make(text, error="m", micro=False).save(out, kind="svg", scale=8, border=4)
    return out.getvalue()


def test_device_setup_writes_a_profile_and_a_qr_code(tmp_path: Path) -> None:
    data, env, tokens = _setup(tmp_path)
    token = tokens[TABLET]
    url = f"https://dns.test:8443/dns-query/{token}"
    qr, profile, png = tmp_path / "an.svg", tmp_path / "an.mobileconfig", tmp_path / "an.png"
    result = cli("device", "setup", "An", TABLET, "--format", "json", "--qr", str(qr),
                 "--mobileconfig", str(profile), "--data-dir", str(data), env=env)
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["doh_url"] == url
    assert out["android_private_dns"] == f"{dot_label(token)}.dns.test"
    assert out["dns_server"] == "192.168.1.2"
    assert "DNS riêng tư" in out["instructions"]["vi"] and url in out["instructions"]["vi"]
    assert "Private DNS" in out["instructions"]["en"]
    assert "192.168.1.2" in out["instructions"]["en"]

    plist = plistlib.loads(profile.read_bytes())
    assert plist["PayloadType"] == "Configuration"
    (payload,) = plist["PayloadContent"]
    assert payload["PayloadType"] == "com.apple.dnsSettings.managed"
    assert payload["DNSSettings"] == {"DNSProtocol": "HTTPS", "ServerURL": url}
    assert profile.stat().st_mode & 0o077 == 0  # it carries a secret

    # No QR decoder offline: the SVG is well-formed and is exactly segno's drawing of the URL.
    drawn = qr.read_bytes()
    assert ET.fromstring(drawn).tag.endswith("svg")
    assert drawn == _svg(url)
    assert drawn != _svg(url.replace(token, tokens["Laptop của An"]))

    result = cli("device", "setup", "An", TABLET, "--qr", str(png), "--data-dir", str(data),
                 env=env)
    assert result.returncode == 0, result.stderr
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert qr.stat().st_mode & 0o077 == 0 and png.stat().st_mode & 0o077 == 0
    assert "Android" in result.stdout and "Bộ định tuyến" in result.stdout


def test_device_setup_needs_a_hostname_and_a_known_device(tmp_path: Path) -> None:
    data, env, _ = _setup(tmp_path)
    result = cli("device", "setup", "An", TABLET, "--data-dir", str(data))
    assert result.returncode != 0
    assert "gate.dot_hostname" in result.stderr and "Traceback" not in result.stderr
    result = cli("device", "setup", "An", "no such device", "--data-dir", str(data), env=env)
    assert result.returncode != 0 and "Traceback" not in result.stderr
    result = cli("device", "setup", "An", TABLET, "--qr", str(tmp_path / "x.gif"),
                 "--data-dir", str(data), env=env)
    assert result.returncode != 0 and ".svg or .png" in result.stderr
