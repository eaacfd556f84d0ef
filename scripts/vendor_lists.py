"""Copy the blocklists that may be shipped, and the Public Suffix List, into the package.

Usage: python scripts/vendor_lists.py ../shared/data

Only the sources whose licence allows redistribution inside the package are copied
(see shared/data/blocklists/README.md, "What the project may ship"). The files are copied
unchanged, with their licence texts, and ATTRIBUTION.md plus manifest.tsv are regenerated.
"""

from __future__ import annotations

import csv
import shutil
import sys
from pathlib import Path

SHIPPABLE = ("hostsvn", "shadowwhisperer", "sinfonietta", "blocklistproject")
LICENCE_FILES = {
    "hostsvn": "hostsvn-MIT.txt",
    "shadowwhisperer": "shadowwhisperer-UNLICENSE.txt",
    "sinfonietta": "sinfonietta-MIT.txt",
    "blocklistproject": "blocklistproject-UNLICENSE.txt",
}
CREDITS = {
    "blocklistproject": "The Block List Project (github.com/blocklistproject/Lists), Unlicense.",
    "hostsvn": 'hostsVN by BigDargon (github.com/bigdargon/hostsVN), MIT licence, '
    '"Copyright (c) 2026 BigDargon".',
    "sinfonietta": 'Sinfonietta hostfiles (github.com/Sinfonietta/hostfiles), MIT, '
    '"Copyright (c) 2016 Sinfonietta".',
    "shadowwhisperer": "ShadowWhisperer BlockLists (github.com/ShadowWhisperer/BlockLists), "
    "Unlicense.",
}

PKG = Path(__file__).resolve().parent.parent / "src" / "safegate" / "lists" / "data"


def main(shared: Path) -> None:
    src = shared / "blocklists"
    out = PKG / "blocklists"
    if out.exists():
        shutil.rmtree(out)
    (out / "LICENSES").mkdir(parents=True)
    with open(src / "manifest.tsv", newline="") as fh:
        rows = [r for r in csv.DictReader(fh, delimiter="\t") if r["source"] in SHIPPABLE]
    for row in rows:
        dest = out / row["file"]
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src / row["file"], dest)
    for name in LICENCE_FILES.values():
        shutil.copyfile(src / "LICENSES" / name, out / "LICENSES" / name)
    cols = ["file", "source", "category", "entries", "match", "repo", "path", "commit",
            "file_last_changed", "licence"]
    with open(out / "manifest.tsv", "w", newline="") as fh:
        w = csv.writer(fh, delimiter="\t", lineterminator="\n")
        w.writerow(cols)
        for row in rows:
            w.writerow([row[c] for c in cols])
    lines = [
        "# Attribution of the blocklists shipped with SafeGate",
        "",
        "These files are copied unchanged from the project's normalised snapshot (lowercased,",
        "IP lines dropped, deduplicated, sorted, gzip). Regenerate with `make vendor-lists`;",
        "never edit them by hand. Licence texts are in `LICENSES/`.",
        "",
    ]
    for source in SHIPPABLE:
        commit = next((r["commit"] for r in rows if r["source"] == source), "")
        lines.append(f"- **{source}** (snapshot commit `{commit}`): {CREDITS[source]}")
    (out / "ATTRIBUTION.md").write_text("\n".join(lines) + "\n")

    psl_out = PKG / "psl"
    psl_out.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(shared / "psl" / "public_suffix_list.dat", psl_out / "public_suffix_list.dat")
    shutil.copyfile(shared / "psl" / "LICENSE-MPL-2.0.txt", psl_out / "LICENSE-MPL-2.0.txt")
    (psl_out / "ATTRIBUTION.md").write_text(
        "# Public Suffix List\n\nUnmodified copy of `public_suffix_list.dat` from the Public "
        "Suffix List project (publicsuffix.org), commit "
        "`e8c9a2b2b2856b6449999dd0ec0d118f364ed0cd`, under the Mozilla Public License 2.0 "
        "(`LICENSE-MPL-2.0.txt`).\n"
    )
    print(f"copied {len(rows)} list files and the PSL into {PKG}")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/data"))
