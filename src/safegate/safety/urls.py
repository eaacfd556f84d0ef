"""Scoring a URL or a domain no list may know yet: known lists, lexical signals, page text.

    >>> from safegate.safety.urls import score_url
    >>> v = score_url("https://vietcombank-xacminh.top/dang-nhap")
    >>> v.verdict, v.category
    ('block', 'scam')

Three layers, in order (docs/urls.md has the rules, weights and thresholds):

1. **Known lists.** With an ``index`` (the gate's compiled lists), the gate's own decision
   (``safegate.policy.decide``) for the host under a profile. A listed name is the answer:
   its list and entry are the reason, confidence 1.
2. **Lexical signals** of the URL itself: typosquats and look-alikes of Vietnamese banks,
   e-wallets, government sites and a few global brands (``url_data/brands.toml``), a brand
   name next to a lure word on a domain that is not the brand's, game and gift-card lures,
   gambling words, and weak supporting signals (risky TLDs, deep or long hosts, digits,
   IP-literal hosts). Each signal has a weight; the weights of one category combine as
   independent evidence (noisy-or) into a score.
3. **Page text**, only when asked (``fetch=True``): the page fetched under strict limits
   (``safegate.safety.url_fetch``), its visible text classified by the text safety engine
   and the harm labels mapped to gate categories.

The verdict: ``block`` from a score of ``BLOCK_AT``, ``warn`` from ``WARN_AT``,
``unknown`` when only weak signals were seen, ``allow`` when nothing was (or a list or the
brand's own domain says so). ``confidence`` is how sure the verdict is; ``score`` is the
estimated likelihood of harm.
"""

from __future__ import annotations

import ipaddress
import re
import tomllib
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from safegate.lists.index import DomainIndex
    from safegate.lists.psl import PublicSuffixList
    from safegate.policy.compiled import CompiledProfile
    from safegate.safety.types import Result
    from safegate.safety.url_fetch import FetchLimits, Page

__all__ = ["BLOCK_AT", "HARM_TO_CATEGORY", "RECORD_AT", "VERDICTS", "WARN_AT", "Brand",
           "Outcome", "Reason", "Target", "UrlError", "UrlVerdict", "categorise_pending",
           "content_reasons", "lexical_reasons", "parse_target", "score_url", "skeleton"]

VERDICTS = ("block", "warn", "allow", "unknown")
BLOCK_AT = 0.8  # score from which the verdict is block
WARN_AT = 0.5  # score from which it is warn
RECORD_AT = 0.8  # score from which a block goes to the gate's auto store (auto.MIN_CONFIDENCE)
SUPPORT_CAP = 0.45  # weak signals alone never reach a warning

# Lexical weights (docs/urls.md explains each rule).
W_BRAND_DOMAIN_PREFIX = 0.9  # vietcombank.com.vn.secure-login.top
W_BRAND_DOMAIN_PREFIX_GLOBAL = 0.45  # apple.com.<cdn>: CDN names do this all the time
W_LOOKALIKE = 0.9  # same confusable skeleton as a brand label: vietcornbank, xn--…
W_TYPO_1 = 0.85  # one edit from a brand label (labels of 6+ letters)
W_TYPO_2 = 0.75  # two edits (labels of 9+ letters)
W_LOOKALIKE_SUB = 0.5  # the same in a subdomain label (massenger.sr.roku.com is real)
W_TYPO_SUB = 0.45
W_BRAND_LURE = 0.9  # brand in the domain's own label + a lure word in the host
W_BRAND_LURE_PATH = 0.8  # brand in the domain's own label + a lure word in the path
W_BRAND_LURE_SUB = 0.85  # brand in a subdomain + a lure word in the host
W_BRAND_LURE_SUB_PATH = 0.7  # brand in a subdomain + a lure word in the path
W_BRAND_MENTION = 0.6  # a Vietnamese brand's name (or any brand on a risky TLD), no lure
W_BRAND_MENTION_SUB = 0.4  # a Vietnamese brand's name inside a subdomain label
W_BRAND_MENTION_GLOBAL = 0.2  # a global brand's name, no lure (often a fan or partner site)
W_BRAND_IN_PATH = 0.45  # brand and lure both in the path only (news articles mention banks)
W_USERINFO = 0.6  # http://anything@host/: the part before @ is not where it goes
W_USERINFO_BRAND = 0.9  # http://vietcombank.com.vn@evil.example/
W_GOV_IMITATION = 0.5  # "gov-vn", "govvn" outside gov.vn
W_MIXED_SCRIPT = 0.5  # an IDN label mixing Latin with Cyrillic/Greek/Armenian letters
W_GAME_HOST = 0.8  # game word + lure in the host, or a lure phrase: nhanquafreefire.pw
W_GAME_PATH_PHRASE = 0.6  # /robux-free, /nhan-kim-cuong in the path
W_GAME_PATH = 0.45  # a game word and a lure word in the path
W_GAMBLING_WORD = 0.6  # casino, nhacai, taixiu, … in a label
W_GAMBLING_LUCKY = 0.35  # jun88, 789bet-style labels
W_SCAM_WORD = 0.35  # a lure word in the domain's own label, no brand: vaynhanh247, sukien-…
# Supporting signals: no category of their own, capped at SUPPORT_CAP when alone.
W_RISKY_TLD = 0.25
W_IP_HOST = 0.4
W_DEEP = (4, 0.1), (6, 0.2)  # subdomain levels → weight
W_LONG = (50, 0.1), (75, 0.2)  # host length → weight
W_DIGITS = 0.15
W_HYPHENS = 0.15

SCAM_WORD_GROUPS = ("promo", "money", "support")  # lure groups that count without a brand

# Harm labels of the text engine → gate categories (others have no gate category).
HARM_TO_CATEGORY = {"sexual": "adult", "gambling": "gambling", "scam": "scam",
                    "drugs": "drugs", "violence": "violence", "self_harm": "self_harm",
                    "hate": "hate"}
CHUNK_CHARS = 400  # page text is classified in passages of about this many characters
MAX_CHUNKS = 60  # at most this many passages per page (the first ones)
COVERAGE_FULL = 1 / 3  # a category in this share of passages counts in full


class UrlError(ValueError):
    """Input that is not an http(s) URL or a domain; the message says why."""


# ---------------------------------------------------------------- results


@dataclass(frozen=True, slots=True)
class Reason:
    """One piece of evidence. ``source``: list, lexical or content. ``scope``: what it is
    about: domain (the registrable domain), host (a subdomain), url (path, query, the part
    before @) or page (the fetched text). ``category`` is None for supporting signals."""

    source: str
    code: str
    text: str
    weight: float
    category: str | None = None
    scope: str = "domain"

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "code": self.code, "text": self.text,
                "weight": round(self.weight, 3), "category": self.category, "scope": self.scope}


@dataclass(frozen=True)
class UrlVerdict:
    input: str
    url: str
    host: str
    domain: str  # registrable domain (the host itself for an IP literal)
    verdict: str
    category: str | None
    confidence: float  # how sure the verdict is
    score: float  # estimated likelihood of harm
    reasons: tuple[Reason, ...]
    record_domain: str | None = None  # the name an auto-store record would cover
    record_score: float = 0.0  # the score from evidence about that name alone
    fetched: str | None = None  # the page URL whose text was read
    fetch_error: str | None = None

    @property
    def recordable(self) -> bool:
        """Confident enough for the gate's auto store (see ``categorise_pending``)."""
        return (self.verdict == "block" and self.record_domain is not None
                and self.category is not None and self.record_score >= RECORD_AT)

    def to_dict(self) -> dict[str, Any]:
        return {"input": self.input, "url": self.url, "host": self.host, "domain": self.domain,
                "verdict": self.verdict, "category": self.category,
                "confidence": round(self.confidence, 3), "score": round(self.score, 3),
                "reasons": [r.to_dict() for r in self.reasons],
                "record_domain": self.record_domain if self.recordable else None,
                "fetched": self.fetched, "fetch_error": self.fetch_error}


# ---------------------------------------------------------------- data


@dataclass(frozen=True, slots=True)
class Brand:
    id: str
    name: str
    kind: str
    domains: tuple[str, ...]
    labels: tuple[str, ...]
    keywords: tuple[str, ...]
    any_suffix: bool = False
    not_inside: tuple[str, ...] = ()  # words that contain a keyword but are not the brand
    prefix_domains: tuple[str, ...] = ()  # the domains people see (first of ``domains``)

    @property
    def vietnamese(self) -> bool:
        return self.kind in ("bank", "wallet", "gov", "shop")


@dataclass(frozen=True)
class Lexicon:
    brands: tuple[Brand, ...]
    own: dict[str, Brand]  # own domain → brand
    legit_domains: frozenset[str]
    legit_labels: frozenset[str]
    lures: dict[str, str]  # word → group
    fillers: frozenset[str]
    game_words: frozenset[str]
    game_lures: frozenset[str]
    game_phrases: tuple[str, ...]
    gambling_words: frozenset[str]
    lucky: re.Pattern[str]
    risky_tlds: frozenset[str]
    infrastructure: frozenset[str]
    label_skeletons: tuple[tuple[str, str, Brand], ...] = field(default=())  # label, skel


def _read_data(name: str) -> dict[str, Any]:
    text = resources.files("safegate.safety").joinpath("url_data", name).read_text("utf-8")
    return tomllib.loads(text)


@cache
def default_lexicon() -> Lexicon:
    """The shipped brands and word lists (``url_data/*.toml``), loaded once."""
    return build_lexicon(_read_data("brands.toml"), _read_data("lexicon.toml"))


def build_lexicon(brands_data: dict[str, Any], words: dict[str, Any]) -> Lexicon:
    brands = []
    for entry in brands_data.get("brand", []):
        domains = tuple(d.lower() for d in entry["domains"])
        labels = tuple(entry.get("labels") or sorted({d.split(".")[0] for d in domains}))
        brands.append(Brand(entry["id"], entry["name"], entry["kind"], domains, labels,
                            tuple(entry.get("keywords") or labels),
                            bool(entry.get("any_suffix", False)),
                            tuple(entry.get("not_inside", [])),
                            tuple(entry.get("prefix_domains", domains[:1]))))
    own = {d: b for b in brands for d in b.domains}
    legit = brands_data.get("legitimate", {})
    legit_domains = frozenset(legit.get("domains", []))
    legit_labels = frozenset(legit.get("labels", [])) | {d.split(".")[0] for d in legit_domains}
    lures = {w: group for group, ws in words["lures"].items() if group != "fillers"
             for w in ws}
    fillers = frozenset(words["lures"].get("fillers", []))
    lucky = "|".join(sorted(words["gambling"]["lucky_numbers"], key=len, reverse=True))
    return Lexicon(
        brands=tuple(brands), own=own, legit_domains=legit_domains, legit_labels=legit_labels,
        lures=lures,
        fillers=fillers,
        game_words=frozenset(words["games"]["words"]),
        game_lures=frozenset(words["games"]["lures"]),
        game_phrases=tuple(words["games"]["phrases"]),
        gambling_words=frozenset(words["gambling"]["words"]),
        lucky=re.compile(rf"^(?:[a-z]{{1,6}}(?:{lucky})|(?:{lucky})[a-z]{{1,6}})$"),
        risky_tlds=frozenset(words["tlds"]["risky"]),
        infrastructure=frozenset(brands_data.get("infrastructure", {}).get("domains", [])),
        label_skeletons=tuple((label, skeleton(label), b) for b in brands for label in b.labels
                              if len(label) >= 4),
    )


# ---------------------------------------------------------------- text folding


# Letters that look like Latin ones (a small hand-made table of the usual suspects:
# Cyrillic, Greek, Armenian and IPA letters used in IDN homograph attacks).
_CONFUSABLE = str.maketrans({
    "а": "a", "е": "e", "ё": "e", "о": "o", "р": "p", "с": "c", "у": "y", "х": "x",
    "і": "i", "ї": "i", "ј": "j", "ѕ": "s", "ԁ": "d", "ԛ": "q", "ԝ": "w", "һ": "h",
    "ӏ": "l", "к": "k", "м": "m", "н": "h", "т": "t", "в": "b", "г": "r", "п": "n",
    "ɑ": "a", "ɡ": "g", "ı": "i", "ǀ": "l", "ɩ": "i", "ʋ": "u", "ɒ": "a", "ɛ": "e",
    "α": "a", "β": "b", "ε": "e", "ι": "i", "κ": "k", "ν": "v", "ο": "o", "ρ": "p",
    "τ": "t", "υ": "u", "χ": "x", "γ": "y", "ω": "w", "η": "n", "μ": "u",
    "ո": "n", "ս": "u", "օ": "o", "հ": "h", "ց": "g", "զ": "q",
    "đ": "d", "ð": "d", "ł": "l", "ø": "o", "ß": "ss", "æ": "ae", "œ": "oe",
})
# Then ASCII look-alikes, applied to both sides of a comparison.
_ASCII_LOOKALIKE = str.maketrans({"0": "o", "1": "l", "i": "l", "3": "e", "5": "s",
                                  "7": "t", "4": "a", "9": "g", "|": "l"})
_MULTI = (("rn", "m"), ("vv", "w"), ("cl", "d"))


def fold(text: str) -> str:
    """Lower case, Vietnamese diacritics removed, đ → d (what people type without accents)."""
    text = unicodedata.normalize("NFKD", text.lower().replace("đ", "d"))
    return "".join(c for c in text if not unicodedata.combining(c))


def skeleton(label: str) -> str:
    """A label's look-alike skeleton: two labels that a reader could mistake for each
    other (``vietcornbank`` and ``vietcombank``, ``pаypal`` with a Cyrillic а) share it."""
    text = unicodedata.normalize("NFKC", label).lower().translate(_CONFUSABLE)
    text = fold(text).translate(_ASCII_LOOKALIKE).replace("-", "")
    for a, b in _MULTI:
        text = text.replace(a, b)
    return text


def osa_distance(a: str, b: str, limit: int) -> int:
    """Optimal string alignment distance (edits, adjacent swaps count one), or ``limit + 1``
    as soon as it must exceed ``limit``."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        cur = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        if min(cur) > limit:
            return limit + 1
        prev2, prev = prev, cur
    return prev[-1]


def _scripts(label: str) -> set[str]:
    out = set()
    for ch in label:
        if ch.isalpha():
            name = unicodedata.name(ch, "")
            out.add(name.split(" ")[0] if name else "?")
    return out


# ---------------------------------------------------------------- parsing


@dataclass(frozen=True)
class Target:
    """A URL taken apart: ``host`` in ASCII (punycode), ``unicode_host`` as people see it,
    the registrable domain and its own label, the subdomain labels, path and query."""

    raw: str
    url: str
    scheme: str
    host: str
    unicode_host: str
    port: int | None
    path: str  # path, query and fragment, still percent-encoded
    userinfo: str | None
    ip: bool
    registrable: str
    suffix: str
    label: str  # the registrable domain's own label (punycode if it is an IDN)
    sub_labels: tuple[str, ...]

    @property
    def at_root(self) -> bool:
        return self.path in ("", "/")


def _unicode_label(label: str) -> str:
    if label.startswith("xn--"):
        try:
            return label.encode("ascii").decode("idna")
        except UnicodeError:
            return label
    return label


def parse_target(text: str, psl: PublicSuffixList | None = None) -> Target:
    """Take a URL or a bare domain apart (``UrlError`` when it is neither)."""
    from safegate.lists.parse import normalise_domain
    from safegate.lists.psl import embedded_psl

    raw = text
    s = text.strip()
    if not s:
        raise UrlError("empty input: give a URL (https://…) or a domain name")
    if any(c.isspace() for c in s):
        raise UrlError(f"{raw!r} contains spaces: not a URL")
    if "://" not in s:
        s = ("http:" if s.startswith("//") else "http://") + s
    try:
        parts = urlsplit(s)
        port = parts.port
    except ValueError as exc:
        raise UrlError(f"{raw!r} is not a valid URL: {exc}") from exc
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise UrlError(f"only http and https URLs can be checked, not {scheme}:")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise UrlError(f"{raw!r} has no host name")
    userinfo = parts.netloc.rpartition("@")[0] if "@" in parts.netloc else None
    path = s.split(parts.netloc, 1)[1] if parts.netloc else ""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        return Target(raw, s, scheme, host, host, port, path, userinfo, True, host, "", host, ())
    name = normalise_domain(host)
    if name is None:
        raise UrlError(f"{host!r} is not a public host name")
    psl = psl or embedded_psl()
    n = psl.registrable_labels(name)
    if n == 0:
        raise UrlError(f"{name!r} is a public suffix (like com.vn), not a site's domain")
    labels = name.split(".")
    registrable = ".".join(labels[-n:])
    suffix = ".".join(labels[-n + 1:])
    unicode_host = ".".join(_unicode_label(x) for x in labels)
    return Target(raw, s, scheme, name, unicode_host, port, path, userinfo, False, registrable,
                  suffix, labels[-n], tuple(labels[:-n]))


# ---------------------------------------------------------------- lexical layer


@dataclass(frozen=True)
class _Words:
    """The alphabetic words of some text (split on anything else) and the text joined
    (letters and digits only), for matching word lists."""

    tokens: frozenset[str]
    joined: str

    @classmethod
    def of(cls, text: str) -> _Words:
        folded = fold(text)
        return cls(frozenset(t for t in re.split(r"[^a-z]+", folded) if t),
                   re.sub(r"[^a-z0-9]+", "", folded))

    def has(self, word: str, affixes: Iterable[str] = (), inside: int = 5) -> bool:
        """Words of ``inside`` letters or more anywhere; shorter ones as a whole word, or
        glued to one of the ``affixes`` words ("momo" in "momovn" and "nhanquamomo")."""
        if len(word) >= inside:
            return word in self.joined
        if word in self.tokens:
            return True
        if not affixes:
            return False
        fix = affixes if isinstance(affixes, (set, frozenset)) else frozenset(affixes)
        for t in self.tokens:
            if len(t) > len(word) and (
                    (t.startswith(word) and t[len(word):] in fix)
                    or (t.endswith(word) and t[:-len(word)] in fix)):
                return True
        return False

    def long_only(self, keep: Iterable[str] = ()) -> _Words:
        """Without words of three letters or fewer, except whole labels in ``keep``."""
        whole = frozenset(keep)
        return _Words(frozenset(t for t in self.tokens if len(t) > 3 or t in whole),
                      self.joined)

    def find(self, words: Iterable[str]) -> list[str]:
        return [w for w in words if self.has(w)]


def _brand_in(words: _Words, brand: Brand, affixes: frozenset[str]) -> str | None:
    """The first keyword of ``brand`` in ``words``: 6+ letters anywhere, shorter ones as a
    word of their own or glued to a lure or filler word."""
    for kw in brand.keywords:
        if words.has(kw, affixes, inside=6) and not any(
                x in words.joined for x in brand.not_inside if kw in x):
            return kw
    return None


def _own(t: Target, lex: Lexicon) -> str | None:
    """Why the host is a brand's own (or an official or known legitimate) domain, or None."""
    for i in range(len(t.sub_labels) + 1):
        name = ".".join((*t.sub_labels[i:], t.label, t.suffix))
        brand = lex.own.get(name)
        if brand is not None:
            return f"{name} is an official domain of {brand.name}"
    if t.suffix == "gov.vn" or t.suffix.endswith(".gov.vn"):
        return f"{t.registrable} is under gov.vn (Vietnamese government)"
    if t.registrable in lex.legit_domains:
        return f"{t.registrable} is a known legitimate look-alike (brands.toml)"
    tld = t.suffix.rsplit(".", 1)[-1]
    if tld not in lex.risky_tlds:
        for brand in lex.brands:
            if brand.any_suffix and t.label in brand.labels:
                return f"{t.registrable}: {brand.name} uses its name on many country domains"
    return None


def lexical_reasons(t: Target, lex: Lexicon | None = None) -> list[Reason]:
    """Every lexical signal of a URL (see the weights above and docs/urls.md)."""
    lex = lex or default_lexicon()
    out: list[Reason] = []
    if t.ip:
        out.append(Reason("lexical", "ip_host", f"the host is an IP address ({t.host}), "
                          "not a name", W_IP_HOST, None, "domain"))
        _userinfo(t, lex, out)
        return out
    own = _own(t, lex)
    if own is not None:
        return [Reason("lexical", "own_domain", own, 0.0, None, "domain")]
    affixes = lex.fillers | frozenset(lex.lures)
    label_u = _unicode_label(t.label)
    reg = _Words.of(t.label)
    # Words of three letters or fewer (ff, acb, vcb) count in the domain's own label only:
    # in subdomains they are mostly abbreviations of something else (auth.ff.avast.com).
    sub = _Words.of(".".join(t.sub_labels)).long_only(t.sub_labels[:1])
    host = _Words(reg.tokens | sub.tokens, _Words.of(".".join((*t.sub_labels, t.label))).joined)
    path = _Words.of(unquote(t.path))
    host_lures = host.find(lex.lures)
    path_lures = path.find(lex.lures)
    gov_like, gov_weak = _gov_imitation(t)
    tld = t.suffix.rsplit(".", 1)[-1]
    risky = tld in lex.risky_tlds

    # A brand's own domain used as the start of someone else's host (CDN names such as
    # apple.com.edgekey.net are the brands' own infrastructure).
    infra = any(t.host == d or t.host.endswith("." + d) for d in lex.infrastructure)
    for brand in () if infra else lex.brands:
        for d in brand.prefix_domains:
            if t.host.startswith(d + ".") or f".{d}." in f".{t.host}":
                w = W_BRAND_DOMAIN_PREFIX if brand.vietnamese else W_BRAND_DOMAIN_PREFIX_GLOBAL
                out.append(Reason("lexical", "brand_domain_prefix",
                                  f"the host starts with {d} ({brand.name}) but the site is "
                                  f"{t.registrable}", w, "scam", "domain"))
                break
    # Look-alikes and typosquats of brand labels.
    found, lookalike_brands = _lookalikes(t, label_u, lex, subdomains=not infra)
    out += found
    # Brand names next to lure words.
    for brand in lex.brands:
        if brand.id in lookalike_brands:
            continue
        lures = list(host_lures)
        if brand.kind == "gov" and (gov_like or gov_weak):
            lures.append(gov_like or gov_weak or "")
        in_reg = _brand_in(reg, brand, affixes)
        in_sub = None if in_reg or infra else _brand_in(sub, brand, affixes)
        kw = in_reg or in_sub
        if kw is None:
            if path_lures and _brand_in(path, brand, affixes):
                out.append(Reason("lexical", "brand_lure_path",
                                  f"{brand.name} and the lure word '{path_lures[0]}' in the "
                                  f"path of a site that does not belong to {brand.name}",
                                  W_BRAND_IN_PATH, "scam", "url"))
            continue
        official = f"not an official domain of {brand.name} ({', '.join(brand.domains[:2])})"
        lure = [w for w in lures if w not in kw]
        # About the whole site when the brand or the lure is in the domain's own label.
        where = "domain" if in_reg or any(reg.has(w) for w in lure) else "host"
        if lure:
            out.append(Reason("lexical", "brand_lure",
                              f"{brand.name} ('{kw}') with the lure word '{lure[0]}' on "
                              f"{t.registrable}, {official}",
                              W_BRAND_LURE if in_reg else W_BRAND_LURE_SUB, "scam", where))
        elif path_lures:
            out.append(Reason("lexical", "brand_lure",
                              f"{brand.name} ('{kw}') on {t.registrable}, {official}, with the "
                              f"lure word '{path_lures[0]}' in the path",
                              W_BRAND_LURE_PATH if in_reg else W_BRAND_LURE_SUB_PATH, "scam",
                              where))
        else:
            w = _mention_weight(brand, kw, bool(in_reg), risky, t)
            if w:
                out.append(Reason("lexical", "brand_mention",
                                  f"the name of {brand.name} ('{kw}') on {t.registrable}, "
                                  f"{official}", w, "scam", where))
    if gov_like and not any(r.code == "brand_lure" for r in out):
        out.append(Reason("lexical", "gov_imitation",
                          f"'{gov_like}' imitates a .gov.vn address on {t.registrable}",
                          W_GOV_IMITATION, "scam", "domain"))
    _userinfo(t, lex, out)
    _games(host, path, lex, out)
    _gambling(t, reg, lex, out)
    if not any(r.category == "scam" for r in out):
        scam = reg.find(sorted(w for w, g in lex.lures.items() if g in SCAM_WORD_GROUPS))
        if scam:
            out.append(Reason("lexical", "scam_word", f"the lure word '{scam[0]}' in the "
                              "domain name", W_SCAM_WORD, "scam", "domain"))
    # Mixed scripts in an IDN label that matched no brand.
    if t.label.startswith("xn--") and not any(r.code == "lookalike" for r in out):
        scripts = _scripts(label_u) - {"DIGIT"}
        if "LATIN" in scripts and scripts & {"CYRILLIC", "GREEK", "ARMENIAN"}:
            out.append(Reason("lexical", "mixed_script",
                              f"'{label_u}' mixes {' and '.join(sorted(scripts)).lower()} "
                              "letters", W_MIXED_SCRIPT, "scam", "domain"))
    out += _supporting(t, lex, risky, tld)
    return out


def _mention_weight(brand: Brand, kw: str, in_reg: bool, risky: bool, t: Target) -> float:
    """A brand's name without a lure word: Vietnamese brands (and any brand on a risky TLD)
    weigh more than global ones, whose names are all over fan and partner sites; names of
    three letters or fewer (acb, shb, vcb) are too common to count without a lure."""
    if len(kw) <= 3:
        return 0.0
    if in_reg:
        return W_BRAND_MENTION if brand.vietnamese or risky else W_BRAND_MENTION_GLOBAL
    if brand.vietnamese:
        return W_BRAND_MENTION if kw in t.sub_labels else W_BRAND_MENTION_SUB
    return W_BRAND_MENTION_SUB if risky else 0.0


def _gov_imitation(t: Target) -> tuple[str | None, str | None]:
    """A label imitating ".gov.vn" ("govvn", "gov-vn"), and a label merely containing
    "gov" (hgov, cvgov, dichvucong-gov: a lure only next to a government name)."""
    strong = weak = None
    for label in (*t.sub_labels, t.label):
        flat = label.replace("-", "")
        if "govvn" in flat or "vngov" in flat:
            strong = strong or label
        elif "gov" in flat:
            weak = weak or label
    return strong, weak


def _lookalikes(t: Target, label_u: str, lex: Lexicon,
                subdomains: bool = True) -> tuple[list[Reason], set[str]]:
    """Labels that look like or are a typo of a brand's label; and those brands' ids."""
    out: list[Reason] = []
    candidates: list[tuple[str, str]] = []  # (as seen, where)
    subs = list(t.sub_labels) if subdomains else []
    for where, labels in (("domain", [t.label]), ("host", subs)):
        for label in labels:
            shown = _unicode_label(label)
            candidates.append((shown, where))
            parts = [p for p in re.split(r"[-0-9]+", shown) if p]
            if len(parts) > 1 or (parts and parts[0] != shown):
                candidates += [(p, where) for p in parts]
                candidates.append(("".join(parts), where))
    done: set[str] = set()
    names = {label for label, _, _ in lex.label_skeletons}
    for cand, where in candidates:
        if cand in lex.legit_labels or len(cand) < 4 or cand in names:
            continue  # a brand's own name is a mention (see brand rules), not a typo
        is_idn = not cand.isascii()
        sk = skeleton(cand)
        flat = fold(cand).replace("-", "")
        for label, label_sk, brand in lex.label_skeletons:
            if brand.id in done:
                continue
            weight = 0.0
            how = ""
            if sk == label_sk:
                weight, how = W_LOOKALIKE, "looks like"
            elif len(label) >= 6 and not (label in flat or flat in label) and (
                    len(label) >= 8 or len(flat) == len(label)):
                # Letters added or dropped at the ends are a mention, not a typo ("cloud",
                # "onmicrosoft"; "avietcombank" is caught by the brand rules); 6- and
                # 7-letter labels only by a changed or swapped letter (tbank ≠ tpbank).
                limit = 2 if len(label) >= 9 else 1
                d = osa_distance(flat, label, limit)
                if d <= limit:
                    weight = W_TYPO_1 if d == 1 else W_TYPO_2
                    how = f"is {d} letter{'s' if d > 1 else ''} away from"
            if weight:
                if where == "host":
                    weight = W_LOOKALIKE_SUB if weight == W_LOOKALIKE else W_TYPO_SUB
                done.add(brand.id)
                kind = "lookalike" if (is_idn or how == "looks like") else "typosquat"
                shown = f"'{cand}'"
                if is_idn and where == "domain":
                    shown = f"'{label_u}' ({t.label})"
                out.append(Reason("lexical", kind,
                                  f"{shown} {how} '{label}' of {brand.name} "
                                  f"({brand.domains[0]})", weight, "scam", where))
    return out, done


def _userinfo(t: Target, lex: Lexicon, out: list[Reason]) -> None:
    if t.userinfo is None:
        return
    info = _Words.of(unquote(t.userinfo))
    for brand in lex.brands:
        kw = _brand_in(info, brand, lex.fillers)
        if kw:
            out.append(Reason("lexical", "userinfo_brand",
                              f"'{t.userinfo}@' names {brand.name} but the link goes to "
                              f"{t.host}", W_USERINFO_BRAND, "scam", "url"))
            return
    out.append(Reason("lexical", "userinfo", f"'{t.userinfo}@' before the host hides where "
                      f"the link goes ({t.host})", W_USERINFO, "scam", "url"))


def _games(host: _Words, path: _Words, lex: Lexicon, out: list[Reason]) -> None:
    for words, scope, w_phrase, w_pair in ((host, "domain", W_GAME_HOST, W_GAME_HOST),
                                           (path, "url", W_GAME_PATH_PHRASE, W_GAME_PATH)):
        phrase = next((p for p in lex.game_phrases if p in words.joined), None)
        if phrase:
            out.append(Reason("lexical", "game_lure", f"game lure '{phrase}' in the "
                              f"{'host' if scope == 'domain' else 'path'}", w_phrase, "scam",
                              scope))
            continue
        games = words.find(sorted(lex.game_words))
        lures = [w for w in words.find(sorted(lex.game_lures)) if w not in games]
        if games and lures:
            out.append(Reason("lexical", "game_lure",
                              f"game word '{games[0]}' with the lure '{lures[0]}' in the "
                              f"{'host' if scope == 'domain' else 'path'}", w_pair, "scam",
                              scope))


def _gambling(t: Target, reg: _Words, lex: Lexicon, out: list[Reason]) -> None:
    """Gambling words in the domain's own label (subdomain labels such as slot2.… are
    too often infrastructure)."""
    found = reg.find(sorted(lex.gambling_words))
    if found:
        out.append(Reason("lexical", "gambling_word", f"gambling word '{found[0]}' in the "
                          "domain name", W_GAMBLING_WORD, "gambling", "domain"))
        return
    if lex.lucky.match(t.label.replace("-", "")):
        out.append(Reason("lexical", "gambling_number",
                          f"'{t.label}' has the letters-and-lucky-number shape of betting "
                          "brands (jun88, 789bet)", W_GAMBLING_LUCKY, "gambling", "domain"))


def _supporting(t: Target, lex: Lexicon, risky: bool, tld: str) -> list[Reason]:
    out = []
    if risky:
        out.append(Reason("lexical", "risky_tld", f".{tld} is a cheap top-level domain common "
                          "in scam and phishing feeds", W_RISKY_TLD, None, "domain"))
    depth = len(t.sub_labels)
    for (n, w) in reversed(W_DEEP):
        if depth >= n:
            out.append(Reason("lexical", "deep_host", f"{depth} levels of subdomains",
                              w, None, "host"))
            break
    for (n, w) in reversed(W_LONG):
        if len(t.host) > n:
            out.append(Reason("lexical", "long_host", f"a {len(t.host)}-character host name",
                              w, None, "host"))
            break
    label = _unicode_label(t.label)  # (the xn-- of an IDN is not the owner's hyphens)
    digits = sum(c.isdigit() for c in label)
    if digits >= 6 or (digits >= 4 and digits / len(label) >= 0.4):
        out.append(Reason("lexical", "digits", f"'{label}' is mostly digits", W_DIGITS,
                          None, "domain"))
    if label.count("-") >= 3:
        out.append(Reason("lexical", "hyphens", f"'{label}' strings {label.count('-') + 1} "
                          "words together with hyphens", W_HYPHENS, None, "domain"))
    return out


# ---------------------------------------------------------------- combining


def noisy_or(weights: Iterable[float]) -> float:
    p = 1.0
    for w in weights:
        p *= 1.0 - w
    return 1.0 - p


def combine(reasons: Sequence[Reason]) -> tuple[str | None, float]:
    """The strongest category and its score: its own signals and the supporting ones as
    independent evidence; supporting signals alone stay below ``SUPPORT_CAP``."""
    support = [r.weight for r in reasons if r.category is None and r.weight > 0]
    by_cat: dict[str, list[float]] = {}
    for r in reasons:
        if r.category is not None and r.weight > 0:
            by_cat.setdefault(r.category, []).append(r.weight)
    if not by_cat:
        return None, min(SUPPORT_CAP, noisy_or(support))
    scored = {c: noisy_or([*ws, *support]) for c, ws in by_cat.items()}
    best = max(scored, key=lambda c: (scored[c], c))
    return best, scored[best]


def _verdict(score: float, category: str | None) -> str:
    if category is not None and score >= BLOCK_AT:
        return "block"
    if category is not None and score >= WARN_AT:
        return "warn"
    return "unknown" if score > 0 else "allow"


# ---------------------------------------------------------------- lists layer


_PROFILE_CACHE: dict[tuple[int, str], tuple[Any, Any, Any]] = {}


def _remember(key: tuple[int, str], value: tuple[Any, Any, Any]) -> None:
    """Cache per index, for the last few indexes only (a reload builds a new one)."""
    while len(_PROFILE_CACHE) >= 4:
        del _PROFILE_CACHE[next(iter(_PROFILE_CACHE))]
    _PROFILE_CACHE[key] = value


def baseline_profile(index: DomainIndex) -> CompiledProfile:
    """What the gate applies to a client with no profile of its own (docs/lists.md):
    every list of the baseline harm categories, custom lists and allow lists."""
    from safegate.policy.compiled import CompiledProfile, enabled_lists
    from safegate.policy.defaults import BASELINE_CATEGORIES

    cached = _PROFILE_CACHE.get((id(index), "baseline"))
    if cached is not None and cached[0] is index:
        profile: CompiledProfile = cached[1]
        return profile
    profile = CompiledProfile(
        id=None, name="baseline", blocked_categories=frozenset(BASELINE_CATEGORIES),
        verdicts=index.verdicts(enabled_lists(index, BASELINE_CATEGORIES)),
        allow=frozenset(), deny=frozenset(), deny_nets=(), services={}, block_mode="null",
        log_level="off", bypass_protection=False, safe_search=False, youtube_mode="off")
    _remember((id(index), "baseline"), (index, profile, None))
    return profile


def _all_verdicts(index: DomainIndex) -> Any:
    cached = _PROFILE_CACHE.get((id(index), "all"))
    if cached is not None and cached[0] is index:
        return cached[1]
    verdicts = index.verdicts(range(len(index.lists)))
    _remember((id(index), "all"), (index, verdicts, None))
    return verdicts


def list_reason(host: str, index: DomainIndex,
                profile: CompiledProfile | None = None) -> tuple[str, str | None, Reason] | None:
    """The gate's decision for ``host`` as (verdict, category, reason), or None when no
    list or profile rule knows it."""
    from safegate.policy.decide import decide

    profile = profile or baseline_profile(index)
    decision = decide(profile, index, host)
    if decision.rule is not None:
        rule = decision.rule
        if decision.action in ("block", "nxdomain"):
            text = f"listed: {rule} ({decision.category}, blocked for profile {profile.name!r})"
            return "block", decision.category, Reason("list", "listed", text, 1.0,
                                                      decision.category, "domain")
        text = f"allowed by {rule}" + (" (never-block guard)" if decision.category == "guard"
                                       else "")
        return "allow", None, Reason("list", "allowed", text, 0.0, None, "domain")
    hit = index.lookup(host, _all_verdicts(index))
    if hit is None:
        return None
    spec = index.lists[hit.list_id].spec
    text = (f"listed: {spec.key}:{hit.entry} ({spec.category}; profile {profile.name!r} "
            "does not block that category)")
    return "allow", spec.category, Reason("list", "listed_not_blocked", text, 0.0,
                                          spec.category, "domain")


# ---------------------------------------------------------------- content layer


ClassifyMany = Callable[[Sequence[str]], Sequence["Result"]]


@cache
def _engine() -> Any:
    from safegate.safety.engine import Engine

    return Engine(use_pii=False)  # pii_disclosure has no gate category; skip its cost


def default_classifier(texts: Sequence[str]) -> Sequence[Result]:
    """The text safety engine (``safegate.safety``) without the personal-data detector."""
    return list(_engine().classify_many(texts))


def passages(text: str, size: int = CHUNK_CHARS, limit: int = MAX_CHUNKS) -> list[str]:
    """Split page text into passages of about ``size`` characters at line or sentence ends."""
    out: list[str] = []
    cur = ""
    for line in text.splitlines():
        line = line.strip()
        while line:
            if len(line) > size:
                cut = max(line.rfind(". ", 0, size), line.rfind(" ", 0, size))
                cut = cut + 1 if cut > size // 2 else size
                piece, line = line[:cut].strip(), line[cut:].strip()
            else:
                piece, line = line, ""
            if cur and len(cur) + len(piece) + 1 > size:
                out.append(cur)
                cur = ""
                if len(out) >= limit:
                    return out
            cur = f"{cur}\n{piece}" if cur else piece
    if cur and len(out) < limit:
        out.append(cur)
    return out


def content_reasons(text: str, classifier: ClassifyMany | None = None) -> list[Reason]:
    """Reasons from a page's visible text: for each harm label with a gate category, its
    best passage score times how much of the page it covers (in full from a third of the
    passages, half for one passage in a long page)."""
    chunks = passages(text)
    if not chunks:
        return [Reason("content", "empty_page", "the page has no visible text", 0.0, None,
                       "page")]
    results = (classifier or default_classifier)(chunks)
    hits: dict[str, list[tuple[float, Result]]] = {}
    for result in results:
        for label in result.labels:
            cat = HARM_TO_CATEGORY.get(label)
            if cat is not None:
                hits.setdefault(label, []).append((result.scores.get(label, 0.0), result))
    out = []
    for label, found in sorted(hits.items()):
        top, best = max(found, key=lambda x: x[0])
        share = len(found) / len(chunks)
        coverage = min(1.0, 0.5 + 0.5 * share / COVERAGE_FULL)
        weight = min(0.99, top * coverage)
        spans = [s.text for s in best.spans if s.category == label][:2]
        example = f", e.g. \"{_short(spans[0])}\"" if spans else ""
        out.append(Reason("content", f"page_{label}",
                          f"page text: {label} in {len(found)} of {len(chunks)} passages "
                          f"(best score {top:.2f}){example}", weight, HARM_TO_CATEGORY[label],
                          "page"))
    if not out:
        out.append(Reason("content", "clean", f"page text: nothing harmful in {len(chunks)} "
                          "passages", 0.0, None, "page"))
    return out


def _short(text: str, n: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1] + "…"


def _fetch_text(t: Target, limits: FetchLimits | None) -> tuple[Page | None, str | None]:
    from safegate.safety.url_fetch import FetchError, fetch_page

    if t.scheme == "http" and "://" not in t.raw.strip():
        urls = [f"https://{t.host}{t.path or '/'}", f"http://{t.host}{t.path or '/'}"]
    else:
        urls = [t.url]
    error = None
    for url in urls:
        try:
            return fetch_page(url, limits), None
        except FetchError as exc:
            error = f"{url}: {exc}"
            if not exc.retry_other_scheme:
                break
    return None, error


# ---------------------------------------------------------------- the scorer


def score_url(url_or_domain: str, *, index: DomainIndex | None = None,
              profile: CompiledProfile | None = None, fetch: bool = False,
              limits: FetchLimits | None = None, classifier: ClassifyMany | None = None,
              lexicon: Lexicon | None = None, psl: PublicSuffixList | None = None) -> UrlVerdict:
    """Score one URL or domain (``UrlError`` if it is neither).

    ``index`` and ``profile``: the gate's lists and the profile whose decision counts (the
    baseline policy when None); without an index the list layer is skipped. ``fetch``: also
    read the page (``limits``: ``url_fetch.FetchLimits``) and classify its text
    (``classifier``: the text safety engine by default).
    """
    t = parse_target(url_or_domain, psl if psl is not None else
                     (index.psl if index is not None else None))

    def result(verdict: str, category: str | None, confidence: float, score: float,
               reasons: Sequence[Reason], **extra: Any) -> UrlVerdict:
        return UrlVerdict(url_or_domain, t.url, t.host, t.registrable, verdict, category,
                          round(confidence, 4), round(score, 4), tuple(reasons), **extra)

    if index is not None and not t.ip:
        listed = list_reason(t.host, index, profile)
        if listed is not None:
            verdict, category, reason = listed
            return result(verdict, category, 1.0, 1.0 if verdict == "block" else 0.0, [reason])
    reasons = lexical_reasons(t, lexicon)
    if any(r.code == "own_domain" for r in reasons):
        return result("allow", None, 0.95, 0.0, reasons)
    fetched = fetch_error = None
    if fetch:
        page, fetch_error = _fetch_text(t, limits)
        if page is not None:
            fetched = page.final_url
            reasons += content_reasons(page.text, classifier)
            if page.truncated:
                reasons.append(Reason("content", "truncated", "page text read from the first "
                                      f"{page.bytes_read} bytes only (size limit)", 0.0, None,
                                      "page"))
        else:
            reasons.append(Reason("content", "not_fetched", f"page not fetched: {fetch_error}",
                                  0.0, None, "page"))
    category, score = combine(reasons)
    verdict = _verdict(score, category)
    # An allow only says nothing was found: surer when the page was read too.
    confidence = (0.8 if fetched else 0.5) if verdict == "allow" else score
    record, record_score = _record_target(t, reasons, category, fetched)
    return result(verdict, category, confidence, score, reasons, record_domain=record,
                  record_score=round(record_score, 4), fetched=fetched, fetch_error=fetch_error)


def _record_target(t: Target, reasons: Sequence[Reason], category: str | None,
                   fetched: str | None) -> tuple[str | None, float]:
    """Which name a finding is about, and its score from evidence about that name only:
    a signal in the domain's own label covers the registrable domain; one in a subdomain
    only the host; the page text covers the host when the page is the site's front page;
    a path, query or ``user@`` signal covers no name at all (DNS cannot block a path)."""
    if t.ip or category is None:
        return None, 0.0
    page_counts = fetched is not None and t.at_root
    scopes = {"domain", "host"} | ({"page"} if page_counts else set())
    kept = [r for r in reasons if r.scope in scopes]
    own = [r for r in kept if r.category == category and r.weight > 0]
    if not own:
        return None, 0.0
    domain_level = any(r.scope == "domain" for r in own) or (
        page_counts and t.host == t.registrable)
    name = t.registrable if domain_level else t.host
    _, score = combine([r for r in kept if r.category in (category, None)])
    return name, score


# ---------------------------------------------------------------- the gate's queue


@dataclass(frozen=True, slots=True)
class Outcome:
    """What ``categorise_pending`` did with one newly seen domain.

    ``action``: recorded (filed in the auto store), operator (an operator already decided;
    kept), listed (a list knows it now), kept (not confident enough to record), error."""

    domain: str
    action: str
    verdict: UrlVerdict | None = None
    error: str | None = None


def categorise_pending(session: Session, *, index: DomainIndex | None,
                       profile: CompiledProfile | None = None, limit: int = 100,
                       fetch: bool = False, limits: FetchLimits | None = None,
                       classifier: ClassifyMany | None = None, dry_run: bool = False,
                       workers: int = 8) -> list[Outcome]:
    """Score the gate's newly seen domains (``pending_domains``, most queried first), file
    the confident blocks with ``record_auto`` (an operator's decision is never
    overwritten) and mark them all classified. ``dry_run``: change nothing."""
    from concurrent.futures import ThreadPoolExecutor

    from safegate.lists.auto import mark_classified, pending_domains, record_auto

    domains = pending_domains(session, limit)

    def one(domain: str) -> Outcome:
        try:
            verdict = score_url(domain, index=index, profile=profile, fetch=fetch,
                                limits=limits, classifier=classifier)
        except UrlError as exc:
            return Outcome(domain, "error", None, str(exc))
        listed = bool(verdict.reasons) and verdict.reasons[0].source == "list"
        return Outcome(domain, "listed" if listed else "kept", verdict)

    if fetch and workers > 1 and len(domains) > 1:
        _engine()  # build the classifier once, before the threads
        with ThreadPoolExecutor(max_workers=workers) as pool:
            scored = list(pool.map(one, domains))
    else:
        scored = [one(d) for d in domains]
    out = []
    for item in scored:
        v = item.verdict
        if v is not None and item.action == "kept" and v.recordable:
            assert v.record_domain is not None and v.category is not None
            note = "; ".join(r.text for r in v.reasons if r.weight > 0)[:1000]
            filed = dry_run or record_auto(session, v.record_domain, v.category,
                                           min(1.0, v.record_score), note=note)
            item = Outcome(item.domain, "recorded" if filed else "operator", v)
        out.append(item)
    if not dry_run:
        mark_classified(session, domains)
    return out
