"""Render the text engine's measured figures into docs/safety.md and README.md.

Every figure comes from bench/results/safety_eval.json, which ``bench/safety_eval`` writes
and which is committed with the model. Each marked section

    <!-- safety_eval:NAME -->
    ...generated...
    <!-- /safety_eval:NAME -->

is replaced by the rendering of NAME; the text around the markers is left alone.

Usage:
    python scripts/gen_safety_figures.py [--check]

--check writes nothing and exits with status 1 if a page is out of date.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "bench" / "results" / "safety_eval.json"
PAGES = (REPO / "docs" / "safety.md", REPO / "README.md")
_SECTION = re.compile(r"^([ \t]*)(<!-- safety_eval:([\w-]+) -->\n)(.*?)"
                      r"(^[ \t]*<!-- /safety_eval:\3 -->)", re.DOTALL | re.MULTILINE)
ENGINES = ("main path", "with deep layer")
URGENT = ("grooming", "self_harm", "violence")


def _f(x: float | None) -> str:
    return "–" if x is None else f"{x:.2f}"


def _p(x: float | None) -> str:
    return "–" if x is None else f"{100 * x:.1f} %"


def _engines(entry: dict[str, Any]) -> list[str]:
    return [e for e in ENGINES if e in entry]


def _table(head: list[str], rows: list[list[str]]) -> list[str]:
    out = ["| " + " | ".join(head) + " |",
           "|" + "|".join(["---"] + ["---:"] * (len(head) - 1)) + "|"]
    return out + ["| " + " | ".join(r) + " |" for r in rows]


def run(r: dict[str, Any]) -> list[str]:
    th = r["thresholds"]
    lang = r.get("language_thresholds", {})
    extra = "; ".join(f"for {lg} text: " + ", ".join(f"{c} {t:.2f}" for c, t in sorted(v.items()))
                      for lg, v in sorted(lang.items()) if v)
    head = f", deep-layer head `{r['deep_head_version']}`" if r.get("deep_head_version") else ""
    return [f"Model `{r['model_version']}`{head}, {r['training_seeds']:,} training seeds; "
            f"measured on {r['measured']} ({r['cpu']}, Python {r['python']}). Label thresholds: "
            + ", ".join(f"{c} {t:.2f}" for c, t in th.items()) + (f" ({extra})." if extra else ".")]


def false_alarms(r: dict[str, Any]) -> list[str]:
    fa = r["false_alarms"]
    engines = [e for e in ENGINES if e in fa]
    head = ["clean text", "texts"] + [f"{what} ({e})" for e in engines
                                       for what in ("any label", "warning/urgent", "urgent")]
    rows = []
    for name, per in fa[engines[0]].items():
        for lang, x in per.items():
            cells = [f"{name} ({lang})", f"{x['texts']:,}"]
            for e in engines:
                y = fa[e][name][lang]
                cells += [_p(y["any_label"]), _p(y["warning_or_urgent"]), _p(y["urgent"])]
            rows.append(cells)
    return _table(head, rows)


def vihos(r: dict[str, Any]) -> list[str]:
    v = r["vihos_dev"]
    rows = [[name, f"**{_f(x['engine_macro_f1'])}**", _f(x["baseline_macro_f1"]),
             f"{_f(x['engine']['precision'])} / {_f(x['engine']['recall'])}",
             f"{_f(x['baseline']['precision'])} / {_f(x['baseline']['recall'])}",
             f"{_p(x['engine']['clean_flagged'])} / {_p(x['baseline']['clean_flagged'])}"]
            for name, x in v.items()]
    cv = r.get("vihos_train_cv")
    if cv:
        for name in ("as typed", "de-accented"):
            rows.append([f"5-fold CV on train, {name}", f"**{_f(cv[name + ' engine'])}**",
                         _f(cv[name + " baseline"]), "", "", ""])
    return _table(["ViHOS", "engine macro-F1", "baseline macro-F1", "engine P / R (offensive)",
                   "baseline P / R", "clean comments flagged: engine / baseline"], rows)


def davidson(r: dict[str, Any]) -> list[str]:
    d = r["davidson_heldout"]
    rows = [[f"hate (class 0; base rate {_f(d['base_rate_hate'])})", _f(d["hate"]["precision"]),
             _f(d["hate"]["recall"]), _f(d["hate"]["f1"]), _f(d["auprc_hate"])],
            [f"offensive (class 0 or 1; base rate {_f(d['base_rate_offensive'])})",
             _f(d["offensive"]["precision"]), _f(d["offensive"]["recall"]),
             _f(d["offensive"]["f1"]), _f(d["auprc_offensive"])],
            ["offensive, ranked by the any-harm score", "", "", "", _f(d["auprc_any_harm"])]]
    return _table(["Davidson held-out 20 %", "P", "R", "F1", "AUPRC"], rows)


def _set_table(title: str, entry: dict[str, Any]) -> list[str]:
    engines = _engines(entry)
    typed = {e: entry[e]["as typed"] for e in engines}
    plain = {e: entry[e]["de-accented (Vietnamese rows)"] for e in engines}
    cats = [c for c in typed[engines[0]] if isinstance(typed[engines[0]][c], dict)
            and "precision" in typed[engines[0]][c]]
    head = [title] + [f"P / R / F1 ({e})" for e in engines] + ["F1 de-accented (main)"]
    rows = []
    for c in cats:
        rows.append([c] + [f"{_f(typed[e][c]['precision'])} / {_f(typed[e][c]['recall'])} / "
                           f"{_f(typed[e][c]['f1'])}" for e in engines]
                    + [_f(plain[engines[0]][c]["f1"])])
    rows.append(["macro-F1"] + [_f(typed[e]["macro_f1"]) for e in engines]
                + [_f(plain[engines[0]]["macro_f1"])])
    rows.append(["`urgent` severity P / R"] + [
        f"{_f(typed[e]['urgent_precision'])} / {_f(typed[e]['urgent_recall'])}"
        for e in engines] + [""])
    rows.append(["negatives: any label / warning or urgent"] + [
        f"{_p(typed[e]['hard_negative_any_label_rate'])} / "
        f"{_p(typed[e]['hard_negative_flag_rate'])}" for e in engines]
        + [_p(plain[engines[0]]["hard_negative_flag_rate"])])
    auprc = typed[engines[0]].get("auprc", {})
    for lang in ("en", "vi"):
        if lang in auprc:
            a = auprc[lang]
            per = ", ".join(f"{c} {_f(v)}" for c, v in a.items()
                            if c not in ("any_harm", "positives", "texts"))
            rows.append([f"AUPRC, {lang} rows ({a['positives']} of {a['texts']} harmful)",
                         f"any harm **{_f(a['any_harm'])}**" + (f"; {per}" if per else "")]
                        + [""] * len(engines))
    return _table(head, rows)


def dev_sets(r: dict[str, Any]) -> list[str]:
    out: list[str] = []
    for name, entry in r["dev_sets"].items():
        out += [f"`seeds/{name}.tsv`:", ""] + _set_table("category", entry) + [""]
    return out[:-1]


def conversations(r: dict[str, Any]) -> list[str]:
    rows = []
    for name, entry in r["dev_conversations"].items():
        for e in _engines(entry):
            for view in ("as typed", "de-accented"):
                x = entry[e][view]
                rows.append([f"`{name}` ({e}, {view})",
                             f"{_f(x['conversation']['precision'])} / "
                             f"{_f(x['conversation']['recall'])}",
                             f"{_f(x['urgent']['precision'])} / {_f(x['urgent']['recall'])}",
                             f"{_f(x['any single message']['precision'])} / "
                             f"{_f(x['any single message']['recall'])}"])
    return _table(["chats", "`grooming` label P / R", "`urgent` P / R",
                   "`grooming` in one message P / R"], rows)


def heldout(r: dict[str, Any]) -> list[str]:
    sets = r.get("heldout") or {}
    if not sets:
        return ["No held-out set has been run with this model yet."]
    out: list[str] = []
    for name, entry in sets.items():
        out += [f"`seeds/{name}.tsv`:", ""] + _set_table("category", entry) + [""]
    return out[:-1]


def throughput(r: dict[str, Any]) -> list[str]:
    t = r["throughput"]
    tp = t["throughput_msgs_per_s"]
    names = [k for k in tp if not k.endswith("(median)") and not k.startswith("deep layer")]
    rows = [[n, f"{tp[n + ' (median)']:,}", f"{tp[n]:,}"] for n in names]
    share = tp.get("deep layer: share of messages embedded")
    note = ["", f"Share of messages the deep layer embedded: {_p(share)}."] if share else []
    pinned = "pinned to one core" if t["throughput_pinned_one_core"] else "NOT pinned"
    return [f"Model `{t['model_version']}`, measured on {t['measured']}, {pinned}, five "
            f"timed runs:", ""] + _table(["path", "messages/s (median)", "best of 5"],
                                         rows) + note


def readme_throughput(r: dict[str, Any]) -> list[str]:
    t = r["throughput"]
    tp = t["throughput_msgs_per_s"]
    main = tp["main path (rules + model) (median)"]
    deep = tp.get("main path + deep layer (median)")
    deep_part = f"; with `--deep` {deep:,}" if deep else ""
    return [f"Main path (`classify --no-pii`): {main:,} messages/s per core, the median of five "
            f"runs on {t['measured']}{deep_part} (`bench/safety_eval`, "
            "bench/results/safety_eval.json)."]


RENDERERS: dict[str, Callable[[dict[str, Any]], list[str]]] = {
    "run": run, "false-alarms": false_alarms, "vihos": vihos, "davidson": davidson,
    "dev-sets": dev_sets, "conversations": conversations, "heldout": heldout,
    "throughput": throughput, "readme-throughput": readme_throughput,
}


def render_page(text: str, results: dict[str, Any]) -> str:
    def one(m: re.Match[str]) -> str:
        indent, name = m.group(1), m.group(3)
        if name not in RENDERERS:
            raise KeyError(f"unknown section safety_eval:{name}")
        body = "".join(f"{indent}{x}\n" if x else "\n" for x in RENDERERS[name](results))
        return indent + m.group(2) + body + m.group(5)
    return _SECTION.sub(one, text)


def load_results(path: Path = RESULTS) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--check", action="store_true")
    args = ap.parse_args()
    results = load_results()
    stale = []
    for page in PAGES:
        old = page.read_text(encoding="utf-8")
        new = render_page(old, results)
        if new != old:
            stale.append(page.name)
            if not args.check:
                page.write_text(new, encoding="utf-8")
    if args.check and stale:
        print("out of date: " + ", ".join(stale) + "; run python scripts/gen_safety_figures.py")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
