"""List parsing: every supported format, every reason a line is not used, damaged files,
and the vectorised fast path (``iter_batches``) against the line-by-line parser."""

from __future__ import annotations

import gzip
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from safegate.lists import parse
from safegate.lists.parse import (
    Entry,
    ListFileError,
    ParseReport,
    iter_batches,
    iter_entries,
    normalise_domain,
    parse_line,
)


def write(path: Path, text: str | bytes, *, gz: bool = False) -> Path:
    data = text.encode("utf-8") if isinstance(text, str) else text
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


def entries(path: Path) -> tuple[list[Entry], ParseReport]:
    """Entries in file order, after checking that the batch reader agrees exactly."""
    report = ParseReport()
    out = list(iter_entries(path, report))
    batch_report = ParseReport()
    batched: Counter[Entry] = Counter()
    for names, allow, patterns in iter_batches(path, batch_report):
        batched.update(Entry(n) for n in names)
        batched.update(Entry(n, True) for n in allow)
        batched.update(patterns)
    assert batched == Counter(out)
    assert batch_report == report
    return out, report


def domains(path: Path) -> list[str]:
    return [e.domain for e in entries(path)[0] if not e.allow]


# ------------------------------------------------------------------ formats


def test_plain_domains_are_normalised(tmp_path: Path) -> None:
    path = write(tmp_path / "l.txt", "Example.COM\nwww.example.org.\n.leading.dot\n"
                 "*.wild.example\nunder_score.example\n\n   \n  spaced.example  \n")
    assert domains(path) == ["example.com", "www.example.org", "leading.dot", "wild.example",
                             "under_score.example", "spaced.example"]


def test_hosts_format(tmp_path: Path) -> None:
    path = write(tmp_path / "hosts", (
        "# StevenBlack-style header\n"
        "127.0.0.1 localhost\n"
        "::1 localhost ip6-localhost ip6-loopback\n"
        "0.0.0.0 0.0.0.0\n"
        "0.0.0.0 a.com b.com\n"
        "127.0.0.1\tc.com   # tracker\n"
        "0.0.0.0 d.com#no space before the comment\n"
        "192.0.2.1 e.com\n"
        ":: f.com\n"
    ))
    out, report = entries(path)
    assert [e.domain for e in out] == ["a.com", "b.com", "c.com", "d.com", "e.com", "f.com"]
    assert report.entries == 6
    assert report.skipped[parse.SKIP_LOCAL] == 4
    assert report.skipped[parse.SKIP_IP] == 1  # "0.0.0.0 0.0.0.0"
    assert report.examples[parse.SKIP_LOCAL] == "127.0.0.1 localhost"


def test_comments_are_not_entries(tmp_path: Path) -> None:
    path = write(tmp_path / "l.txt", "# a.com\n! b.com\n[Adblock Plus 2.0]\nc.com # d.com\n"
                 "e.com ## section-style comment\n")
    out, report = entries(path)
    assert [e.domain for e in out] == ["c.com", "e.com"]
    assert not report.skipped


def test_adblock_rules(tmp_path: Path) -> None:
    path = write(tmp_path / "adblock.txt", (
        "||ads.example.com^\n"
        "||tracker.example.net\n"
        "@@||good.example.com^\n"
        "||x.com^$third-party\n"
        "@@||y.com^$document\n"
        "||z.com/path^\n"
        "||*.w.com^\n"
        "||v.*.com^\n"
        "example.com##.banner\n"
        "example.org#@#.ad\n"
        "example.net#?#div:has(.ad)\n"
        "example.edu#$#abort-on-property-read x\n"
        "/banner/*\n"
        "||bad_label-.com^\n"
    ))
    out, report = entries(path)
    assert out == [Entry("ads.example.com"), Entry("tracker.example.net"),
                   Entry("good.example.com", allow=True), Entry("w.com"),
                   Entry("||v.*.com^", pattern=r"(?:^|\.)v\..*\.com$")]
    assert report.entries == 4 and report.allow_entries == 1 and report.patterns == 1
    assert report.skipped == Counter({
        parse.SKIP_MODIFIER: 2, parse.SKIP_PATH: 2, parse.SKIP_COSMETIC: 4,
        parse.SKIP_NOT_HOST: 1,
    })
    assert report.examples[parse.SKIP_MODIFIER] == "||x.com^$third-party"
    assert report.examples[parse.SKIP_COSMETIC] == "example.com##.banner"
    assert report.examples[parse.SKIP_PATH] == "||z.com/path^"


def test_lone_addresses_are_address_rules(tmp_path: Path) -> None:
    path = write(tmp_path / "l.txt",
                 "1.2.3.4\n2001:db8::1\n10.0.0.0/8\n0.0.0.0\n127.0.0.1\nok.example\n")
    out, report = entries(path)
    assert [(e.domain, e.network) for e in out] == [
        ("1.2.3.4", "1.2.3.4/32"), ("2001:db8::1", "2001:db8::1/128"),
        ("10.0.0.0/8", "10.0.0.0/8"), ("ok.example", None)]
    # Sinkhole addresses are never rules.
    assert report.skipped[parse.SKIP_LOCAL] + report.skipped[parse.SKIP_IP] == 2


def test_numeric_names_that_are_not_addresses(tmp_path: Path) -> None:
    path = write(tmp_path / "l.txt", "123\n1.2.3\n1.2.3.4.5\n163.com\n")
    assert domains(path) == ["123", "1.2.3", "1.2.3.4.5", "163.com"]


def test_idna(tmp_path: Path) -> None:
    path = write(tmp_path / "l.txt", "bücher.example\nĐẠI-HỌC.vn\n||ünicode.example^\n"
                 "0.0.0.0 münchen.de\nxn--bcher-kva.example\n")
    assert domains(path) == ["xn--bcher-kva.example", "xn--i-hc-zua2256b5ia.vn",
                             "xn--nicode-2ya.example", "xn--mnchen-3ya.de",
                             "xn--bcher-kva.example"]
    assert normalise_domain("straße.de") in ("xn--strae-oqa.de", "strasse.de")


def test_invalid_names(tmp_path: Path) -> None:
    bad = ["-lead.example", "trail-.example", "a..b", "x" * 64 + ".com",
           ".".join(["a" * 60] * 5), "sp ace.example/", "http://u.example/x", "a.com:80",
           "\u2603\x00.com", "local", "broadcasthost"]
    for name in bad:
        assert normalise_domain(name) is None, name
    path = write(tmp_path / "l.txt", "\n".join(bad) + "\nfine.example\n")
    out, report = entries(path)
    assert [e.domain for e in out] == ["fine.example"]
    assert sum(report.skipped.values()) == len(bad)
    assert report.skipped[parse.SKIP_WORDS] == 1  # "sp ace.example/"
    assert report.skipped[parse.SKIP_LOCAL] == 2


def test_several_words_are_not_names(tmp_path: Path) -> None:
    path = write(tmp_path / "l.txt", "bad.com CNAME .\na.com b.com\nok.com\n")
    out, report = entries(path)
    assert [e.domain for e in out] == ["ok.com"]
    assert report.skipped == Counter({parse.SKIP_WORDS: 2})


def test_label_and_name_limits() -> None:
    assert normalise_domain("x" * 63 + ".com") == "x" * 63 + ".com"
    name = ".".join(["a" * 63] * 4)[:253]
    assert len(name) == 253 and normalise_domain(name) == name
    assert normalise_domain(name + "a") is None


@pytest.mark.parametrize("ending", ["\r\n", "\r", "\n"])
def test_line_endings(tmp_path: Path, ending: str) -> None:
    path = write(tmp_path / "l.txt", ending.join(["a.com", "# c", "0.0.0.0 b.com", "c.com"]))
    assert domains(path) == ["a.com", "b.com", "c.com"]


def test_gzip_and_plain_give_the_same(tmp_path: Path) -> None:
    text = "a.com\n0.0.0.0 b.com\n||c.com^\n1.2.3.4\n" * 3
    plain = entries(write(tmp_path / "l.txt", text))
    packed = entries(write(tmp_path / "l.txt.gz", text, gz=True))
    assert plain == packed
    # The gzip magic decides, not the file name.
    assert entries(write(tmp_path / "named.gz", text)) == plain
    assert entries(write(tmp_path / "named.txt", text, gz=True)) == plain


def test_binary_junk_lines_are_skipped(tmp_path: Path) -> None:
    data = (b"good.example\n\x00\x01\x02\xff\xfe\n\x89PNG\r\n\x1a\n\xc3\x28bad.example\n"
            b"\xe2\x82\n" + bytes(range(128, 256)) + b"\nalso.good.example\n")
    out, report = entries(write(tmp_path / "junk.txt", data))
    assert [e.domain for e in out] == ["good.example", "also.good.example"]
    assert report.skipped[parse.SKIP_NOT_HOST] == 6  # "\x89PNG\r\n\x1a" is two lines


def test_no_trailing_newline_and_empty_file(tmp_path: Path) -> None:
    assert domains(write(tmp_path / "a.txt", "a.com\nb.com")) == ["a.com", "b.com"]
    assert entries(write(tmp_path / "e.txt", "")) == ([], ParseReport())
    assert entries(write(tmp_path / "e.gz", "", gz=True)) == ([], ParseReport())


# ------------------------------------------------------------------ damaged files


def _damaged(tmp_path: Path) -> dict[str, Path]:
    good = gzip.compress(("\n".join(f"host{i}.example" for i in range(20_000)) + "\n").encode())
    middle = bytearray(good)
    for i in range(len(middle) // 2, len(middle) // 2 + 64):
        middle[i] ^= 0x5A
    bad_crc = bytearray(good)
    bad_crc[-8] ^= 0xFF
    bad_block = bytearray(good)
    bad_block[10] = 0xFF  # the first deflate block gets the invalid type 3 (zlib.error)
    return {
        "truncated": write(tmp_path / "trunc.gz", good[: len(good) // 2]),
        "corrupt deflate data": write(tmp_path / "corrupt.gz", bytes(middle)),
        "bad CRC": write(tmp_path / "crc.gz", bytes(bad_crc)),
        "invalid deflate block": write(tmp_path / "block.gz", bytes(bad_block)),
        "gzip header only": write(tmp_path / "head.gz", b"\x1f\x8b\x08\x00"),
        "missing": tmp_path / "does-not-exist.txt",
        "a directory": tmp_path,
    }


@pytest.mark.parametrize("case", ["truncated", "corrupt deflate data", "bad CRC",
                                  "invalid deflate block", "gzip header only", "missing",
                                  "a directory"])
def test_damaged_or_missing_files_raise_list_file_error(tmp_path: Path, case: str) -> None:
    path = _damaged(tmp_path)[case]
    with pytest.raises(ListFileError):
        list(iter_entries(path, ParseReport()))
    with pytest.raises(ListFileError):
        list(iter_batches(path, ParseReport()))


# ------------------------------------------------------------------ the fast path


LINE = st.one_of(
    st.from_regex(r"[a-z0-9_-]{1,12}(\.[a-z0-9_-]{1,12}){0,3}", fullmatch=True),
    st.from_regex(r"[0-9.]{1,16}", fullmatch=True),
    st.sampled_from(["localhost", "local", "127.0.0.1 localhost", "0.0.0.0 a.com b.com",
                     "# comment", "||x.com^", "192.0.2.1", "::1 ip6-localhost",
                     "@@||y.com^", "||z.com^$third-party", "e.com##.ad", "", " ", "A.COM",
                     "x" * 63 + ".com", "x" * 64 + ".com", "a" * 250 + ".com", "-a.com",
                     "a-.com", "a..com", ".a.com", "a.com.", "bücher.example", "1.2.3.4",
                     "\ufffd", "a.com\t#", "*.w.com", "\x00", "||ads*.x.com^",
                     "@@||*cdn*.example^", "||*.w.com^", "/^ad[0-9]+\\.x$/", "/(a+)+/",
                     "/banner/*", "/x/$important", "||a.com/p"]),
    st.text(alphabet="ab.-_19 #\x00é|/*^@", max_size=20),
)


@given(lines=st.lists(LINE, max_size=40), ending=st.sampled_from(["\n", "\r\n", "\r"]),
       final=st.booleans(), chunk=st.integers(1, 64), gz=st.booleans())
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_fast_path_matches_the_line_parser(tmp_path_factory: pytest.TempPathFactory,
                                           lines: list[str], ending: str, final: bool,
                                           chunk: int, gz: bool) -> None:
    """Whatever the lines, the chunk size or the line endings, the batch reader and the
    file-order reader give exactly what ``parse_line`` gives line by line."""
    text = ending.join(lines) + (ending if final else "")
    path = write(tmp_path_factory.mktemp("f") / "l.txt", text, gz=gz)
    expected_report = ParseReport()
    expected: Counter[Entry] = Counter()
    for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        expected.update(parse_line(line, expected_report))
    expected_report.entries = sum(n for e, n in expected.items() if not e.allow)
    expected_report.allow_entries = sum(n for e, n in expected.items() if e.allow)
    old_chunk = parse.CHUNK_BYTES
    parse.CHUNK_BYTES = chunk
    try:
        out, report = entries(path)
    finally:
        parse.CHUNK_BYTES = old_chunk
    assert Counter(out) == expected
    assert report.entries == expected_report.entries
    assert report.allow_entries == expected_report.allow_entries
    assert report.patterns == expected_report.patterns
    assert report.skipped == expected_report.skipped
    assert report.examples == expected_report.examples


@given(st.lists(st.text(alphabet="abz09-_.\n", min_size=1, max_size=70), max_size=30))
@settings(max_examples=300, deadline=None)
def test_plain_lines_accepts_only_what_the_expression_accepts(lines: list[str]) -> None:
    block = ("\n".join(line.replace("\n", "") for line in lines) + "\n").encode()
    flags = parse._plain_lines(block)
    for line, ok in zip(block.decode().split("\n")[:-1], flags.tolist(), strict=True):
        regex = bool(parse._HOSTNAME.match(line)) and not parse._IPV4.match(line)
        has_letter = any(c not in "0123456789." for c in line)
        assert ok == (regex and has_letter), line
