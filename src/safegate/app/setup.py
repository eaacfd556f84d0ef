"""Set-up material for one device: how to point it at its own DNS address on every network.

- Android (9+) Private DNS: the host name ``{dot_label}.{gate.dot_hostname}`` (DoT);
- iPhone, iPad, Mac: a configuration profile (.mobileconfig, payload
  ``com.apple.dnsSettings.managed``, DNSProtocol HTTPS, ServerURL the device's DoH URL).
  It is unsigned: iOS and macOS show it as "Unverified" but install it; installed by hand it
  applies on Wi-Fi and on mobile data;
- Windows 11, Chrome, Edge, Firefox: the DoH URL ``https://{host}/dns-query/{token}``;
- a router: the box's address as the DNS server (dnsmasq ``add-mac`` + gate.trusted_forwarders
  to tell devices apart behind it);
- a QR code of the DoH URL (SVG or PNG).

Everything here carries the device's token: it is a secret, handed to the parent only.
"""

from __future__ import annotations

import io
import plistlib
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from safegate.app.core import App
from safegate.app.family import find_device
from safegate.config import parse_addr
from safegate.files import write_private
from safegate.policy.compiled import dot_label

NAMESPACE = uuid.UUID("6f1c3c55-5a36-4c55-9a3c-2f1e53a1d2b7")  # stable profile UUIDs


class SetupError(ValueError):
    """Set-up material that cannot be made with these settings."""


@dataclass(frozen=True, slots=True)
class DeviceSetup:
    child: str
    device: str
    token: str
    hostname: str  # gate.dot_hostname
    doh_url: str
    android_hostname: str
    dns_server: str  # the box's plain DNS address, for routers (may be 0.0.0.0: say so)
    doh_on: bool
    dot_on: bool

    def to_dict(self) -> dict[str, Any]:
        return {"child": self.child, "device": self.device, "doh_url": self.doh_url,
                "android_private_dns": self.android_hostname, "dns_server": self.dns_server,
                "doh_enabled": self.doh_on, "dot_enabled": self.dot_on,
                "instructions": {lang: instructions(self, lang) for lang in ("vi", "en")}}


def device_setup(app: App, child: str, device: str, *, org: str | None = None) -> DeviceSetup:
    s = app.settings
    hostname = s["gate.dot_hostname"]
    if not hostname:
        raise SetupError("set gate.dot_hostname (the name devices use to reach this box, "
                         "e.g. dns.example.vn) to make set-up material; see "
                         "docs/encrypted-dns.md")
    view = find_device(app, child, device, org=org)
    host = hostname
    if s["gate.doh"] and not s["gate.doh_plain"]:
        port = parse_addr(s["gate.doh"])[1]
        if port != 443:
            host = f"{hostname}:{port}"
    dns_host = s.dns_address[0]
    return DeviceSetup(
        child=view.child, device=view.name, token=view.token, hostname=hostname,
        doh_url=f"https://{host}/dns-query/{view.token}",
        android_hostname=f"{dot_label(view.token)}.{hostname}",
        dns_server=dns_host, doh_on=bool(s["gate.doh"]), dot_on=bool(s["gate.dot"]))


def mobileconfig(setup: DeviceSetup) -> bytes:
    """An Apple configuration profile (XML plist) for encrypted DNS over HTTPS."""
    ident = f"vn.safegate.dns.{setup.hostname}.{dot_label(setup.token)}"
    payload = {
        "PayloadType": "com.apple.dnsSettings.managed",
        "PayloadVersion": 1,
        "PayloadIdentifier": ident + ".dns",
        "PayloadUUID": str(uuid.uuid5(NAMESPACE, ident + ".dns")).upper(),
        "PayloadDisplayName": f"SafeGate DNS ({setup.device})",
        "DNSSettings": {"DNSProtocol": "HTTPS", "ServerURL": setup.doh_url},
    }
    profile = {
        "PayloadType": "Configuration",
        "PayloadVersion": 1,
        "PayloadIdentifier": ident,
        "PayloadUUID": str(uuid.uuid5(NAMESPACE, ident)).upper(),
        "PayloadDisplayName": f"SafeGate — {setup.child} — {setup.device}",
        "PayloadDescription": "Bảo vệ DNS của SafeGate cho thiết bị này / SafeGate DNS "
                              "protection for this device",
        "PayloadContent": [payload],
    }
    return plistlib.dumps(profile, fmt=plistlib.FMT_XML)


def write_qr(setup: DeviceSetup, path: Path) -> None:
    """A QR code of the DoH URL: SVG or PNG by the file's extension."""
    suffix = path.suffix.lower()
    if suffix not in (".svg", ".png"):
        raise SetupError(f"{path}: a QR code is written as .svg or .png")
    buffer = io.BytesIO()
    qr_code(setup.doh_url).save(buffer, kind=suffix[1:], scale=8, border=4)
    write_private(path, buffer.getvalue())  # the URL carries the device's token


def qr_code(text: str) -> Any:
    import segno

    return segno.make(text, error="m", micro=False)


def write_mobileconfig(setup: DeviceSetup, path: Path) -> None:
    write_private(path, mobileconfig(setup))


def instructions(setup: DeviceSetup, lang: str = "vi") -> str:
    router = setup.dns_server if setup.dns_server not in ("0.0.0.0", "::") else None
    if lang == "vi":
        where = router or "địa chỉ IP của máy SafeGate trong mạng nhà"
        lines = [
            f"Thiết lập DNS riêng cho «{setup.device}» của {setup.child}",
            "(Đường dẫn và tên dưới đây là bí mật của thiết bị này: đừng chia sẻ.)",
            "",
            "Android 9 trở lên: Cài đặt → Mạng và Internet → DNS riêng tư → Tên máy chủ "
            f"nhà cung cấp DNS riêng tư: {setup.android_hostname}",
            "iPhone, iPad, Mac: mở tệp .mobileconfig, rồi Cài đặt → Đã tải về hồ sơ → Cài "
            "đặt (hồ sơ không được ký nên hiện «Chưa xác minh»).",
            f"Windows 11, Chrome, Edge, Firefox: DNS qua HTTPS, máy chủ tùy chỉnh: "
            f"{setup.doh_url}",
            f"Bộ định tuyến (router): đặt máy chủ DNS là {where}; với dnsmasq, bật add-mac "
            "và thêm router vào gate.trusted_forwarders để phân biệt từng thiết bị.",
        ]
    else:
        where = router or "the SafeGate box's IP address on the home network"
        lines = [
            f"Private DNS for {setup.child}'s “{setup.device}”",
            "(The URL and name below are this device's secret: do not share them.)",
            "",
            "Android 9 or later: Settings → Network & internet → Private DNS → Private DNS "
            f"provider hostname: {setup.android_hostname}",
            "iPhone, iPad, Mac: open the .mobileconfig file, then Settings → Profile "
            "Downloaded → Install (the profile is unsigned, so it shows as “Unverified”).",
            f"Windows 11, Chrome, Edge, Firefox: DNS over HTTPS, custom provider: "
            f"{setup.doh_url}",
            f"Router: set the DNS server to {where}; with dnsmasq, turn on add-mac and add "
            "the router to gate.trusted_forwarders to tell devices apart.",
        ]
    if not setup.doh_on or not setup.dot_on:
        off = ", ".join(n for n, on in (("DoH", setup.doh_on), ("DoT", setup.dot_on)) if not on)
        lines.append("")
        lines.append(f"Lưu ý: {off} đang tắt trên máy chủ này (gate.doh / gate.dot)."
                     if lang == "vi" else
                     f"Note: {off} is off on this server (gate.doh / gate.dot).")
    return "\n".join(lines)
