"""The block page against a real `safegate serve`: a child's device in block-page mode gets
the block page's address for a blocked name, and the page (served where that address
points) says what was blocked in the child's language — the category, never the rule —,
gives the 111 helpline, and "ask my parent" becomes an unblock request its parent sees."""

from __future__ import annotations

import re
from pathlib import Path

import httpx

from safegate.app.core import App
from safegate.app.family import PolicyChange, set_policy
from safegate.config import load_settings
from tests.helpers import (
    addresses,
    demo_data_dir,
    free_tcp_port,
    query,
    signed_in_client,
    start_web_serve,
)

AN = "127.0.0.2"  # the demo tablet of An


def test_the_block_page_explains_and_asks_the_parent(tmp_path: Path) -> None:
    data = demo_data_dir(tmp_path / "data")
    app = App(load_settings(env={}, overrides={"server.data_dir": str(data)}))
    set_policy(app, "An", PolicyChange(block_mode="blockpage"))
    app.close()
    listed = tmp_path / "blocked.txt"
    listed.write_text("tiktok.com\n")
    page_port = free_tcp_port()
    config = tmp_path / "web.toml"
    config.write_text(f'[gate]\nblockpage_ipv4 = "127.0.0.1"\n'
                      f'[web]\nblockpage = "127.0.0.1:{page_port}"\n')
    served = start_web_serve("--config", str(config), "--demo", "--no-default-lists",
                             "--data-dir", str(data), "--upstream", "127.0.0.1:9",
                             "--blocklist", str(listed))
    try:
        assert addresses(query(served.dns_port, "www.tiktok.com", AN)) == ["127.0.0.1"]
        url = f"http://127.0.0.1:{page_port}/watch?v=1"
        tablet = httpx.Client(transport=httpx.HTTPTransport(local_address=AN), timeout=30)
        shown = tablet.get(url, headers={"Host": "www.tiktok.com",
                                         "Accept-Language": "vi-VN,vi;q=0.9"})
        assert shown.status_code == 200 and '<html lang="vi">' in shown.text
        assert "Trang này đã bị chặn" in shown.text and "www.tiktok.com" in shown.text
        assert "Danh sách riêng" in shown.text  # the category (custom), not the list
        assert "blocked.txt" not in shown.text and "file/" not in shown.text
        assert "111" in shown.text and "người lớn bạn tin tưởng" in shown.text  # An is 8
        english = tablet.get(url, headers={"Host": "www.tiktok.com",
                                           "Accept-Language": "en-GB,en;q=0.8"})
        assert "This site is blocked" in english.text and "Custom lists" in english.text

        forged = tablet.post(f"http://127.0.0.1:{page_port}/__safegate/ask",
                             headers={"Host": "www.tiktok.com"},
                             data={"csrf": "guess", "message": "cho con xem"})
        assert forged.status_code == 403
        token = re.search(r'name="csrf" value="([^"]+)"', shown.text)
        assert token is not None
        asked = tablet.post(f"http://127.0.0.1:{page_port}/__safegate/ask",
                            headers={"Host": "www.tiktok.com"},
                            data={"csrf": token.group(1), "message": "con cần xem bài hát"})
        assert asked.status_code == 200 and "Đã hỏi bố mẹ" in asked.text

        parent = signed_in_client(served.base, "phuhuynh@example.vn", "demo-safegate")
        an = parent.get("/api/v1/household").json()["children"][0]["id"]
        waiting = parent.get(f"/api/v1/children/{an}/requests").json()
        assert [(r["domain"], r["device"], r["message"]) for r in waiting] == [
            ("www.tiktok.com", "Máy tính bảng của An", "con cần xem bài hát")]

        stranger = httpx.Client(transport=httpx.HTTPTransport(local_address="127.0.0.50"),
                                cookies={"sg_bp_csrf": "x"})
        unknown = stranger.get(url, headers={"Host": "www.tiktok.com"})
        assert unknown.status_code == 200 and "Hỏi bố mẹ" not in unknown.text
        refused = stranger.post(f"http://127.0.0.1:{page_port}/__safegate/ask",
                                headers={"Host": "www.tiktok.com"}, data={"csrf": "x"})
        assert refused.status_code == 400
        assert len(parent.get(f"/api/v1/children/{an}/requests").json()) == 1
    finally:
        served.stop()
