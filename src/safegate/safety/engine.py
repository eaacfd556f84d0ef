"""The engine: rules + model + PII → one :class:`Result` per text.

Scores. For each category the rule score ``r`` is the noisy-or of the rule hits' strengths and
the model score ``m`` is the linear model's probability; the category score is their noisy-or
``1 - (1 - r)(1 - m)``: either layer alone can raise a label, and agreement raises it further.

Labels and severity (see docs/safety.md for the trade-offs):

* a category is labelled when its score reaches its threshold (``THRESHOLDS``, overridden by
  the thresholds stored in the model file, which the trainer picks on out-of-fold
  predictions: F2 for the urgent categories, F1 for the others);
* ``self_harm`` and ``grooming`` labels are ``urgent``; ``violence`` is ``urgent`` when a
  threat rule fired or its score reaches ``VIOLENCE_URGENT``, else ``warning``;
* other labels are ``warning`` from ``WARNING_FLOOR`` up and ``info`` below it; a ``bullying``
  or ``hate`` label that no rule supports is ``warning`` only from ``MODEL_ALONE_WARNING``
  (calibrated) up;
* no label but some category at ``INFO_FLOOR`` or more → ``info`` (a weak signal).

With ``deep=True`` the engine also takes a second look (safegate.safety.embedding) at messages
whose self-harm, grooming or violence score reached the layer's gate without a label: a
sentence-embedding model may add any of those labels (``DEEP_SEVERITY``: urgent for self-harm
and violence, warning for grooming; evidence source ``embedding``; its probabilities in
``Result.deep``).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from safegate.safety.embedding import (
    DEEP_SEVERITY,
    DeepLayer,
    deep_labels,
    load_deep_layer,
    passes_gate,
)
from safegate.safety.features import language_of
from safegate.safety.model import LinearModel, default_model
from safegate.safety.normalise import deaccent, has_diacritics, normalise_known, normalise_pair
from safegate.safety.rules import Hit, RuleSet, default_ruleset
from safegate.safety.tokens import word_spans
from safegate.safety.types import (
    CATEGORIES,
    URGENT_CATEGORIES,
    Result,
    Span,
    max_severity,
)
from safegate.textio import clean_text

__all__ = ["GROOMING_MESSAGE_THRESHOLD", "GROOMING_MODEL_ALONE", "INFO_FLOOR",
           "MODEL_ALONE_WARNING", "OVERRULED_CAP",
           "THRESHOLDS", "VIOLENCE_URGENT", "WARNING_FLOOR", "Engine", "calibrate",
           "default_engine"]

# Default label thresholds (the model file may override them). Urgent categories are lower:
# a missed self-harm or grooming message costs more than a parent reading a false alarm.
THRESHOLDS: dict[str, float] = {
    "sexual": 0.5, "grooming": 0.4, "self_harm": 0.4, "bullying": 0.5, "hate": 0.5,
    "violence": 0.45, "scam": 0.5, "drugs": 0.5, "gambling": 0.5, "pii_disclosure": 0.5,
}
VIOLENCE_URGENT = 0.8
# Grooming is a pattern over a conversation (see conversation.py); one message alone is
# labelled only on strong evidence. The grooming model therefore counts in proportion to the
# grooming rules that fired (alone it is capped at GROOMING_MODEL_ALONE), and the message-level
# label needs GROOMING_MESSAGE_THRESHOLD: a lone "add zalo anh nhé" is info, "gửi anh ảnh khoả
# thân, đừng nói với ai" is urgent, and the escalation over several messages does the rest.
GROOMING_MODEL_ALONE = 0.3
GROOMING_MESSAGE_THRESHOLD = 0.6
WARNING_FLOOR = 0.6
# A category whose rule matched but was overruled by its exception ("mệt muốn chết" is
# tiredness, "giết con boss" a game) and that no other rule supports: the model alone may
# not raise it above this (at most ``info``).
OVERRULED_CAP = 0.3
WORD_CACHE_SIZE = 50_000  # words whose model logits the evidence pass keeps
INFO_FLOOR = 0.3
THREAT_RULES = frozenset({"violence_threat", "violence_threat_reported", "violence_threat_en"})
# Rules whose hits are profanity used as an intensifier ("vl", "vãi"): alone they make a
# bullying label informational only.
MILD_RULES = frozenset({"lexicon_bullying_mild"})
# Insults and hate that only the model saw (no rule fired for the category) alert a parent
# (``warning``) only when the calibrated score reaches MODEL_ALONE_WARNING, a good way past the
# label threshold; below it the label is ``info``. On ordinary comments most false alarms are
# such labels just past the threshold (docs/safety.md, "The false-alarm budget").
MODEL_ALONE_INFO = frozenset({"bullying", "hate"})
MODEL_ALONE_WARNING = 0.7

# PII types that mean "a child is giving out their own details".
PII_TYPES = ("PHONE", "CCCD", "CMND", "EMAIL", "ADDRESS", "SCHOOL", "SOCIAL_HANDLE",
             "DATE_OF_BIRTH", "BANK_ACCOUNT", "CARD")
_PII_HINT = re.compile(
    r"\d{6}|\d[\d .\-]{7,}\d|@|\b(?:trường|truong|lớp|lop|thcs|thpt|tiểu học|đường|duong|phố|"
    r"ngõ|ngo|ngách|hẻm|hem|phường|phuong|quận|quan|huyện|xã|tỉnh|nhà|nha|school|street|road|"
    r"grade|avenue|born|sinh ngày|sinh nhật|zalo|facebook|fb|insta|tiktok|telegram|discord)\b",
    re.IGNORECASE)
_SELF = re.compile(
    r"\b(?:của (?:em|mình|tớ|tôi|con|tao)|(?:sđt|sdt|số|zalo|nhà|địa chỉ|trường|lớp|face|fb|"
    r"mail|email|acc|nick) (?:của )?(?:em|mình|tớ|tôi|con|tao|t)|(?:em|mình|tớ|tôi|con|tao) "
    r"(?:ở|sống|học|học ở|học lớp|tên|sinh)|my (?:number|phone|address|school|email|snap|insta|"
    r"zalo|birthday)|i (?:live|go to|study)|call me|text me|i'?m in grade)\b", re.IGNORECASE)


_RE_WORD = re.compile(r"\w+")


def calibrate(score: float, threshold: float) -> float:
    """A category score on a common scale: 0.5 at the category's label threshold (for the
    text's language), linear from 0 to it and from it to 1. The same calibrated score then
    means the same distance from labelling in every category and language, and the any-harm
    score (the maximum over categories) ranks texts by how far past its own threshold their
    strongest category is."""
    if threshold <= 0.0 or threshold >= 1.0:
        return score
    if score < threshold:
        return 0.5 * score / threshold
    return 0.5 + 0.5 * (score - threshold) / (1.0 - threshold)


def _noisy_or(values: Sequence[float]) -> float:
    p = 1.0
    for v in values:
        p *= 1.0 - v
    return 1.0 - p


class Engine:
    """Rules, model and PII detector put together. Cheap to call; build once."""

    def __init__(self, ruleset: RuleSet | None = None, model: LinearModel | None = None,
                 use_model: bool = True, use_pii: bool = True,
                 thresholds: dict[str, float] | None = None,
                 deep: bool | DeepLayer = False) -> None:
        """``deep``: True loads the deep layer (raises ``DeepUnavailable`` when it cannot run
        here), or pass a :class:`DeepLayer` to share one between engines."""
        self.ruleset = ruleset or default_ruleset()
        self.deep: DeepLayer | None = (
            deep if isinstance(deep, DeepLayer) else load_deep_layer() if deep else None)
        self.model = (model or default_model()) if use_model else None
        self.use_pii = use_pii
        self.thresholds = dict(THRESHOLDS)
        if self.model is not None:
            self.thresholds.update(self.model.thresholds)
        self.thresholds["grooming"] = max(self.thresholds["grooming"], GROOMING_MESSAGE_THRESHOLD)
        if thresholds:
            self.thresholds.update(thresholds)
        # Language-specific thresholds (from the model file) unless the caller set one.
        self.language_thresholds: dict[str, dict[str, float]] = {}
        if self.model is not None:
            for lang, th in self.model.language_thresholds.items():
                self.language_thresholds[lang] = {
                    c: t for c, t in th.items() if not (thresholds and c in thresholds)}
        # The thresholds in force for each language ("en" also serves any other language).
        self._limits = {lang: {c: self.threshold(c, lang) for c in CATEGORIES}
                        for lang in {"en", "vi", *self.language_thresholds}}
        self._pii: Any = None
        self._pii_checked = False
        self._word_cache: dict[str, npt.NDArray[np.float32]] = {}

    # ---------------------------------------------------------------- PII

    def pii_available(self) -> bool:
        if not self._pii_checked:
            self._pii_checked = True
            try:
                from safegate.privacy.pii import detect
            except Exception:  # not written yet, or its dependencies are missing
                self._pii = None
            else:
                self._pii = detect
        return self._pii is not None

    def _pii_hits(self, text: str, normalised_text: str) -> tuple[float, list[Span]]:
        if not self.use_pii or not _PII_HINT.search(text) or not self.pii_available():
            return 0.0, []
        try:
            entities = self._pii(text, types=PII_TYPES)
        except Exception:  # a detector bug must not break classification
            return 0.0, []
        if not entities:
            return 0.0, []
        own = bool(_SELF.search(normalised_text) or _SELF.search(text))
        score = max(float(e.score) for e in entities)
        score = min(0.95, 0.55 + 0.4 * score) if own else min(0.6, 0.3 + 0.3 * score)
        spans = [Span(e.start, e.end, "pii_disclosure", e.text, f"rule:pii_{e.type.lower()}")
                 for e in entities]
        return score, spans

    # ---------------------------------------------------------------- classification

    def classify(self, text: str) -> Result:
        return self.classify_many([text])[0]

    def classify_many(self, texts: Sequence[str]) -> list[Result]:
        texts = [clean_text(t if isinstance(t, str) else str(t)) for t in texts]
        pairs = [normalise_pair(t) for t in texts]
        languages = [language_of(norm, plain) for norm, plain in pairs]
        rows: list[list[float]] | None = None
        if self.model is not None and texts:
            rows = self.model.predict(pairs, texts, languages).tolist()
            model_categories = self.model.categories
        partial: list[_Partial] = []
        for i, (text, (norm, plain)) in enumerate(zip(texts, pairs, strict=True)):
            diacritics = has_diacritics(text)
            hits, overruled = self.ruleset.examine(norm, plain, diacritics)
            model_scores: dict[str, float] = {}
            if rows is not None:
                model_scores = dict(zip(model_categories, rows[i], strict=True))
            partial.append(self._score(text, norm, hits, model_scores, languages[i], overruled))
        if self.deep is not None:
            self._second_look(self.deep, texts, partial)
        # Labels that no rule explains get word-level evidence from the model, in one batch.
        need = [(i, c) for i, p in enumerate(partial) for c in p.labels
                if c not in {s.category for s in p.spans} and texts[i]]
        evidence, need = self._word_model_evidence(texts, need, languages)
        for i, spans in self._model_evidence(texts, need).items():
            evidence.setdefault(i, []).extend(spans)
        return [self._finish(p, evidence.get(i, [])) for i, p in enumerate(partial)]

    @staticmethod
    def _second_look(deep: DeepLayer, texts: Sequence[str], partial: list[_Partial]) -> None:
        """The deep layer on the messages past its gate, in one batch; labels it adds carry
        the whole text as evidence."""
        chosen = [i for i, p in enumerate(partial)
                  if texts[i].strip() and passes_gate(p.scores, p.labels, deep.head.gate)]
        for i, probs in zip(chosen, deep.probabilities([texts[i] for i in chosen]),
                            strict=True):
            p = partial[i]
            p.deep = probs
            p.deep_added = deep_labels(probs, deep.head.thresholds, p.labels)
            if p.deep_added:
                p.labels = tuple(c for c in CATEGORIES if c in p.labels or c in p.deep_added)
                p.spans.extend(Span(0, len(texts[i]), c, texts[i], "embedding")
                               for c in p.deep_added)

    def rule_scores(self, hits: Sequence[Hit]) -> dict[str, float]:
        by_cat: dict[str, dict[str, float]] = {}
        for h in hits:
            best = by_cat.setdefault(h.rule.category, {})
            best[h.rule.name] = max(best.get(h.rule.name, 0.0), h.score)
        return {c: min(0.99, _noisy_or(list(v.values()))) for c, v in by_cat.items()}

    def _word_model_evidence(self, texts: Sequence[str], need: Sequence[tuple[int, str]],
                             languages: Sequence[str]
                             ) -> tuple[dict[int, list[Span]], list[tuple[int, str]]]:
        """Spans from the word-level model where it scored the label: the words it rates
        0.5 or more (else its best word). Returns them and the labels still unexplained."""
        head = self.model.token_head if self.model is not None else None
        if head is None:
            return {}, list(need)
        mine = [(i, c) for i, c in need if c == head.category
                and languages[i] == head.language
                and unicodedata.is_normalized("NFC", texts[i])]  # word offsets = text offsets
        if not mine:
            return {}, list(need)
        words = [word_spans(texts[i]) for i, _ in mine]
        doc_of, probs = head.word_probabilities([[w for _, _, w in ws] for ws in words])
        out: dict[int, list[Span]] = {}
        for k, (i, c) in enumerate(mine):
            p = probs[doc_of == k]
            if not len(p):
                continue
            chosen = [int(x) for x in np.flatnonzero(p >= 0.5)] or [int(p.argmax())]
            out[i] = [Span(a, b, c, texts[i][a:b], "model:words")
                      for a, b, _ in (words[k][x] for x in chosen)]
        return out, [(i, c) for i, c in need if not (c == head.category and i in out)]

    def _model_evidence(self, texts: Sequence[str], need: Sequence[tuple[int, str]],
                        top: int = 2) -> dict[int, list[Span]]:
        """The words that push the model's score for a label up most (source "model").

        Each word of the text is scored on its own by the linear model; the best ``top`` words
        with a positive contribution become spans (else the whole text). One model call for
        the whole batch.
        """
        out: dict[int, list[Span]] = {}
        if not need:
            return out
        words: dict[int, list[tuple[int, int]]] = {}
        for i, _ in need:
            if i not in words:
                words[i] = [(m.start(), m.end()) for m in _RE_WORD.finditer(texts[i])]
        order = sorted(words)
        lowered = {texts[i][a:b].lower() for i in order for a, b in words[i]}
        logits = self._word_logits(lowered)
        for i, c in need:
            text = texts[i]
            spans: list[Span] = []
            if logits is not None and self.model is not None and c in self.model.categories:
                j = self.model.categories.index(c)
                col = np.array([logits[text[a:b].lower()][j] for a, b in words[i]])
                best = [w for w in col.argsort()[::-1][:top] if col[w] > 0]
                spans = [Span(words[i][w][0], words[i][w][1], c,
                              text[words[i][w][0]:words[i][w][1]], "model") for w in sorted(best)]
            out.setdefault(i, []).extend(spans or [Span(0, len(text), c, text, "model")])
        return out

    def _word_logits(self, words: set[str]) -> dict[str, npt.NDArray[np.float32]] | None:
        """Each word's model logits on its own (bias removed), memoised across calls.

        Words repeat across messages far more than whole texts do, so the evidence pass
        mostly reads this table; it is emptied when it reaches ``WORD_CACHE_SIZE``.
        """
        if self.model is None:
            return None
        cache = self._word_cache
        found = {w: v for w in words if (v := cache.get(w)) is not None}
        missing = sorted(words - found.keys())
        if missing:
            rows = self.model.logits([(w, deaccent(w)) for w in missing], with_bias=False)
            fresh = dict(zip(missing, rows, strict=True))
            if len(cache) + len(fresh) > WORD_CACHE_SIZE:
                cache.clear()
            cache.update(fresh)
            found.update(fresh)
        return found

    def threshold(self, category: str, language: str) -> float:
        return self.language_thresholds.get(language, {}).get(category,
                                                               self.thresholds[category])

    def _score(self, text: str, norm: str, hits: list[Hit],
               model_scores: dict[str, float], language: str = "en",
               overruled: AbstractSet[str] = frozenset()) -> _Partial:
        rule = self.rule_scores(hits)
        scores: dict[str, float] = {}
        for c in CATEGORIES:
            r, m = rule.get(c, 0.0), model_scores.get(c, 0.0)
            if c in overruled and not r:
                m = min(m, OVERRULED_CAP)  # a look-alike the rules recognised
            if c == "grooming":
                m = m * r if r > 0 else min(m, GROOMING_MODEL_ALONE)
            scores[c] = 1.0 - (1.0 - r) * (1.0 - m)
        pii_score, pii_spans = self._pii_hits(text, norm)
        scores["pii_disclosure"] = pii_score
        limits = self._limits.get(language) or self._limits["en"]
        labels = tuple(c for c in CATEGORIES if scores[c] >= limits[c])
        spans: list[Span] = []
        if hits:
            n = normalise_known(text, norm)
            for h in hits:
                a, b = n.span(h.start, h.end)
                spans.append(Span(a, b, h.rule.category, text[a:b], f"rule:{h.rule.name}"))
        spans.extend(pii_spans)
        threat = any(h.rule.name in THREAT_RULES for h in hits)
        bullying_rules = {h.rule.name for h in hits if h.rule.category == "bullying"}
        mild = bool(bullying_rules) and bullying_rules <= MILD_RULES
        return _Partial(labels, scores, spans, threat, mild, language, frozenset(rule))

    def _finish(self, p: _Partial, evidence: list[Span]) -> Result:
        spans = sorted([*p.spans, *evidence], key=lambda s: (s.start, -s.end, s.category))
        limits = self._limits.get(p.language) or self._limits["en"]
        calibrated = {c: round(calibrate(v, limits[c]), 4) for c, v in p.scores.items()}
        for c in p.deep_added:  # a deep label sits at or past the threshold, like any label
            calibrated[c] = max(calibrated[c], 0.5)
        levels: dict[str, str] = {}
        for c in p.labels:
            if c in p.deep_added:
                level = DEEP_SEVERITY[c]
            elif c in URGENT_CATEGORIES or (c == "violence" and (
                    p.threat or p.scores[c] >= VIOLENCE_URGENT)):
                level = "urgent"
            elif c == "bullying" and p.mild_profanity:
                level = "info"  # "đẹp trai vl": profanity as an intensifier, nobody targeted
            elif (c in MODEL_ALONE_INFO and c not in p.ruled
                  and calibrated[c] < MODEL_ALONE_WARNING):
                level = "info"
            elif p.scores[c] >= WARNING_FLOOR:
                level = "warning"
            else:
                level = "info"
            levels[c] = level
        severity = max_severity(*levels.values())
        if severity == "none" and any(v >= INFO_FLOOR for v in p.scores.values()):
            severity = "info"
        rounded = {c: round(v, 4) for c, v in p.scores.items()}
        return Result(p.labels, rounded, severity, tuple(spans), p.deep, levels, calibrated)


@dataclass(slots=True)
class _Partial:
    labels: tuple[str, ...]
    scores: dict[str, float]
    spans: list[Span]
    threat: bool
    mild_profanity: bool = False
    language: str = "en"
    ruled: frozenset[str] = frozenset()  # categories some rule fired for
    deep: dict[str, float] = field(default_factory=dict)  # the deep layer's probabilities
    deep_added: tuple[str, ...] = ()  # labels the deep layer added


_DEFAULT: Engine | None = None


def default_engine() -> Engine:
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = Engine()
    return _DEFAULT
