"""Build ``data/vn_admin_units.tsv.gz`` from the administrative units that underthesea ships.

Run at build time only (``python -m safegate.privacy.pii._build_gazetteer``); it needs the
``underthesea`` package, which SafeGate does not import at run time (it is heavy). The output
is a compact, sorted TSV committed inside the package:

    kind<TAB>name<TAB>code

kind is ``T`` (province / centrally-run city; both the 63 units before and the 34 after the
1 July 2025 reorganisation), ``D`` (district level before 2025: quận, huyện, thị xã, thành phố
thuộc tỉnh) or ``W`` (ward level: phường, xã, thị trấn, đặc khu; old and new). ``code`` is the
two-digit province code for ``T`` rows (the first digits of a CCCD number after a leading 0),
empty otherwise. Names are stored without the unit type ("Hà Nội", "Bến Nghé"); purely numeric
names ("Phường 5") are left out because the recogniser handles numbers itself.
"""

from __future__ import annotations

import gzip
import json
import re
from importlib.util import find_spec
from pathlib import Path

OUT = Path(__file__).with_name("data") / "vn_admin_units.tsv.gz"
PREFIXES = ("Thành phố ", "Tỉnh ", "Quận ", "Huyện ", "Thị xã ", "Phường ", "Xã ",
            "Thị trấn ", "Đặc khu ")


def bare(name: str) -> str:
    for prefix in PREFIXES:
        if name.startswith(prefix):
            return name[len(prefix):].strip()
    return name.strip()


def build() -> Path:
    spec = find_spec("underthesea")
    if spec is None or spec.origin is None:
        raise SystemExit("underthesea is needed at build time: pip install underthesea")
    mapping = Path(spec.origin).parent / "address" / "data" / "mapping.json"
    data = json.loads(mapping.read_text(encoding="utf-8"))
    rows: set[tuple[str, str, str]] = set()
    for table in ("old_province_names", "province_names"):
        for info in data[table].values():
            rows.add(("T", bare(info["name"]), info["code"]))
    for row in data["ward_mapping"]:
        for kind, key in (("D", "old_district"), ("W", "old_ward"), ("W", "new_ward")):
            name = bare(row.get(key) or "")
            if name and not re.fullmatch(r"[\d\s]+", name):
                rows.add((kind, name, ""))
    meta = data.get("metadata", {})
    header = (f"# Vietnamese administrative units, generated from underthesea "
              f"(Apache-2.0) address/data/mapping.json, source {meta.get('source')} "
              f"{meta.get('version')}, effective {meta.get('effective_date')}\n")
    body = "".join(f"{k}\t{n}\t{c}\n" for k, n, c in sorted(rows))
    OUT.parent.mkdir(parents=True, exist_ok=True)
    with gzip.GzipFile(OUT, "wb", mtime=0) as fh:
        fh.write((header + body).encode("utf-8"))
    return OUT


if __name__ == "__main__":
    path = build()
    print(f"wrote {path} ({path.stat().st_size} bytes)")
