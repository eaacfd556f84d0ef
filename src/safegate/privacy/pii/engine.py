"""The detection pipeline: a Presidio ``AnalyzerEngine`` with a tokenizer-only spaCy set-up
and SafeGate's own recognisers.

Presidio supplies the recogniser registry, the analysis loop, NLP artifacts and
per-result explanations. spaCy is used with blank pipelines only (``spacy.blank``), so
nothing is downloaded. The recognisers themselves are plain functions over a :class:`Doc`
(the text plus a folded and an undisguised view); one Doc is built per call and shared by
all recognisers. A cheap pre-filter skips Presidio entirely for texts that cannot hold any
entity (no digits, no @, / or :, no inner capitals, no trigger words).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Collection
from functools import lru_cache
from typing import Any

from safegate.textio import clean_text

from .address import find_addresses
from .entity import ENTITY_TYPES, Entity
from .lexicon import (
    DISTINCT_FAMILY_NAMES,
    MIDDLE_NAMES,
    PUBLIC_NAMES,
    UNACCENTED_FAMILY_NAMES,
)
from .numbers import find_numbers
from .patterns import Hit, find_dob, find_emails, find_handles, find_network
from .person import find_persons
from .school import find_schools
from .text import SPELLED_DIGITS, Doc, compose, fold, map_back

LANGUAGES = ("vi", "en")
SCORE_THRESHOLD = 0.5

Finder = Callable[[Doc], list[Any]]
RECOGNIZERS: list[tuple[str, tuple[str, ...], Finder]] = [
    ("VnNumberRecognizer", ("PHONE", "CCCD", "CMND", "BANK_ACCOUNT", "CARD"), find_numbers),
    ("EmailRecognizer", ("EMAIL",), find_emails),
    ("SocialHandleRecognizer", ("SOCIAL_HANDLE",), find_handles),
    ("NetworkRecognizer", ("IP", "MAC"), find_network),
    ("DateOfBirthRecognizer", ("DATE_OF_BIRTH",), find_dob),
    ("AddressRecognizer", ("ADDRESS",), find_addresses),
    ("SchoolRecognizer", ("SCHOOL",), find_schools),
    ("PersonRecognizer", ("PERSON",), find_persons),
]

_local = threading.local()


def _doc_for(text: str) -> Doc:
    doc = getattr(_local, "doc", None)
    if doc is None or doc.text is not text and doc.text != text:
        doc = Doc(text)
    return doc


@lru_cache(maxsize=1)
def analyzer() -> Any:
    """The shared Presidio ``AnalyzerEngine`` (built on first use, ~1 s)."""
    import spacy
    from presidio_analyzer import (
        AnalysisExplanation,
        AnalyzerEngine,
        EntityRecognizer,
        RecognizerRegistry,
        RecognizerResult,
    )
    from presidio_analyzer.nlp_engine import SpacyNlpEngine

    class BlankSpacyNlpEngine(SpacyNlpEngine):
        """spaCy tokenizers only: ``spacy.blank`` pipelines, never a downloaded model.
        Vietnamese uses the multi-language tokenizer (``spacy.blank("vi")`` would need
        pyvi)."""

        def load(self) -> None:
            self.nlp: Any = {"vi": spacy.blank("xx"), "en": spacy.blank("en")}

    class SafeGateRecognizer(EntityRecognizer):
        def __init__(self, name: str, entities: tuple[str, ...], finder: Finder,
                     language: str) -> None:
            self._finder = finder
            self._label = name
            super().__init__(supported_entities=list(entities), name=name,
                             supported_language=language, version="1")

        def load(self) -> None:
            pass

        def analyze(self, text: str, entities: list[str],
                    nlp_artifacts: Any = None) -> list[Any]:
            wanted = set(entities) & set(self.supported_entities)
            if not wanted:
                return []
            out = []
            for hit in self._finder(_doc_for(text)):
                if hit.type not in wanted:
                    continue
                name = self._label
                expl = AnalysisExplanation(recognizer=name,
                                           original_score=hit.score, textual_explanation=hit.why)
                out.append(RecognizerResult(hit.type, hit.start, hit.end, hit.score,
                                            analysis_explanation=expl,
                                            recognition_metadata={
                                                RecognizerResult.RECOGNIZER_NAME_KEY: name,
                                                RecognizerResult.RECOGNIZER_IDENTIFIER_KEY:
                                                    self.id}))
            return out

    nlp = BlankSpacyNlpEngine(models=[{"lang_code": lang, "model_name": "blank"}
                                      for lang in LANGUAGES])
    nlp.load()
    registry = RecognizerRegistry(supported_languages=list(LANGUAGES))
    for lang in LANGUAGES:
        for name, entities, finder in RECOGNIZERS:
            registry.add_recognizer(SafeGateRecognizer(name, entities, finder, lang))
    return AnalyzerEngine(registry=registry, nlp_engine=nlp,
                          supported_languages=list(LANGUAGES),
                          default_score_threshold=SCORE_THRESHOLD)


# ------------------------------------------------------------------ pre-filter

_TRIGGER_WORDS = (
    r"\b(?:ten|name|named|call me|truong|thcs|thpt|tieu hoc|mam non|lien cap|school|academy|"
    r"college|facebook|fb|tiktok|insta|instagram|ig|zalo|tele|telegram|discord|snap|nick|"
    r"phuong|xa|thi tran|thon|xom|ap|khom|ngo|ngach|hem|kiet|dia chi|address|sinh|born|"
    r"birth|birthday|dob|at|dot|cong|"
    + "|".join(sorted(k for k in SPELLED_DIGITS if len(k) > 2)) + r")\b")
_PREFILTER_CHARS = re.compile(r"[\d@#:/]")
_TRIGGERS = re.compile(_TRIGGER_WORDS)
_WORD_INITIAL = re.compile(r"(?<![.!?\n])(?<![.!?]\s)(?<![.!?]\s\s)(?<=\S|\s)\b(\w)")
_LOWER_FAMILY = re.compile(r"\b(?:" + "|".join(DISTINCT_FAMILY_NAMES) + r")\b")
_UNACCENTED_NAME = re.compile(r"\b(?:" + "|".join(UNACCENTED_FAMILY_NAMES) + r")\s+(?:"
                              + "|".join(MIDDLE_NAMES) + r")\b")


# a capitalised first word called by name: "Khoa ơi, ..." (the only capital may be the first)
_VOCATIVE_START = re.compile(r"(?:^|[.!?]\s+)([^\W\d_]+)\s*,?\s*oi\b")


def could_contain(text: str, folded: str) -> bool:
    """False only when no recogniser can fire (the cheap path for ordinary chat)."""
    if _PREFILTER_CHARS.search(text) or _TRIGGERS.search(folded):
        return True
    if text != text.lower():
        for m in _WORD_INITIAL.finditer(text, 1):
            if m.group(1).isupper() and m.start() > 0:
                return True
        for m in _VOCATIVE_START.finditer(folded):
            if text[m.start(1)].isupper():
                return True
    return bool(_LOWER_FAMILY.search(text.lower()) or _UNACCENTED_NAME.search(folded))


_VI_CHARS = re.compile(r"[àáảãạăắằẳẵặâấầẩẫậđèéẻẽẹêếềểễệìíỉĩịòóỏõọôốồổỗộơớờởỡợùúủũụưứừửữựỳýỷỹỵ]")
_VI_WORDS = re.compile(r"\b(?:em|anh|chi|minh|khong|ko|nha|nhe|cua|la|va|toi|ban|duoc|"
                       r"dc|roi|di|hoc|truong|lop)\b")


def guess_language(text: str) -> str:
    low = text.lower()
    if _VI_CHARS.search(low) or len(_VI_WORDS.findall(fold(low))) >= 2:
        return "vi"
    return "en"


# ------------------------------------------------------------------ detection

def _resolve(hits: list[tuple[str, int, int, float]]) -> list[tuple[str, int, int, float]]:
    """Keep the best of overlapping results: higher score, then longer span."""
    chosen: list[tuple[str, int, int, float]] = []
    for h in sorted(hits, key=lambda h: (-h[3], -(h[2] - h[1]), h[1])):
        if all(h[2] <= c[1] or h[1] >= c[2] for c in chosen):
            chosen.append(h)
    chosen.sort(key=lambda h: h[1])
    return chosen


_EDGE = " \t\n,.;:!?()[]{}\"'"


def detect(text: str, *, language: str | None = None,
           types: Collection[str] | None = None) -> list[Entity]:
    """Personal data in ``text``: entities sorted by start, non-overlapping."""
    text = clean_text(text)  # a lone surrogate would break every encoder downstream
    if not text:
        return []
    wanted = list(ENTITY_TYPES) if types is None else [t for t in ENTITY_TYPES if t in types]
    unknown = set(types or ()) - set(ENTITY_TYPES)
    if unknown:
        raise ValueError(f"unknown entity types: {', '.join(sorted(unknown))}")
    if not wanted:
        return []
    work, offsets = compose(text)
    doc = Doc(work)
    if not could_contain(work, doc.folded):
        return []
    lang = language or guess_language(work)
    if lang not in LANGUAGES:
        lang = "en"
    _local.doc = doc
    try:
        results = analyzer().analyze(text=work, language=lang, entities=wanted,
                                     score_threshold=SCORE_THRESHOLD)
    finally:
        _local.doc = None
    hits = []
    for r in results:
        s, e = r.start, r.end
        while s < e and work[s] in _EDGE and work[s] not in "(+[":
            s += 1
        while e > s and work[e - 1] in _EDGE:
            e -= 1
        if e > s and not (r.entity_type == "PERSON" and doc.folded[s:e] in PUBLIC_NAMES):
            hits.append((r.entity_type, s, e, float(r.score)))
    out = []
    for typ, s, e, score in _resolve(hits):
        if offsets is not None:
            s, e = map_back(offsets, s, e)
        out.append(Entity(typ, s, e, text[s:e], round(score, 3)))
    return out


def explain(text: str, *, language: str | None = None) -> list[dict[str, Any]]:
    """Every raw recogniser hit with its reason (for debugging; not resolved)."""
    doc = Doc(compose(text)[0])
    out = []
    for name, _, finder in RECOGNIZERS:
        for h in finder(doc):
            hit: Hit = h
            out.append({"recognizer": name, "type": hit.type, "start": hit.start,
                        "end": hit.end, "text": doc.text[hit.start:hit.end],
                        "score": hit.score, "why": hit.why})
    return out
