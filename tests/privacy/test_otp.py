"""TOTP against the published test vectors (RFC 4226 appendix D, RFC 6238 appendix B), one use
per code, the drift window, the otpauth URI an authenticator app reads, and recovery codes."""

from __future__ import annotations

import base64
from urllib.parse import parse_qs, urlsplit

from safegate.privacy import otp

RFC_SECRET = base64.b32encode(b"12345678901234567890").decode()


def test_hotp_matches_rfc_4226_appendix_d() -> None:
    expected = ["755224", "287082", "359152", "969429", "338314", "254676", "287922",
                "162583", "399871", "520489"]
    assert [otp.hotp(RFC_SECRET, count) for count in range(10)] == expected


def test_totp_matches_the_last_six_digits_of_rfc_6238_appendix_b() -> None:
    vectors = {59: "94287082", 1111111109: "07081804", 1111111111: "14050471",
               1234567890: "89005924", 2000000000: "69279037", 20000000000: "65353130"}
    for when, code in vectors.items():
        assert otp.totp(RFC_SECRET, when) == code[-6:]


def test_a_code_matches_within_one_step_and_only_after_the_last_used() -> None:
    secret = otp.new_secret()
    now = 1_800_000_000.0
    step = otp.step_at(now)
    assert otp.matching_step(secret, otp.totp(secret, now), now) == step
    assert otp.matching_step(secret, otp.totp(secret, now - 30), now) == step - 1
    assert otp.matching_step(secret, otp.totp(secret, now + 30), now) == step + 1
    assert otp.matching_step(secret, otp.totp(secret, now - 90), now) is None
    assert otp.matching_step(secret, otp.totp(secret, now), now, after=step) is None
    spaced = otp.totp(secret, now)[:3] + " " + otp.totp(secret, now)[3:]
    assert otp.matching_step(secret, spaced, now) == step
    assert otp.matching_step(secret, "12345", now) is None
    assert otp.matching_step(secret, "abcdef", now) is None


def test_the_provisioning_uri_carries_the_secret_and_issuer() -> None:
    secret = otp.new_secret()
    uri = urlsplit(otp.provisioning_uri(secret, "me@example.vn"))
    assert (uri.scheme, uri.netloc, uri.path) == ("otpauth", "totp", "/SafeGate:me@example.vn")
    query = parse_qs(uri.query)
    assert query["secret"] == [secret] and query["issuer"] == ["SafeGate"]
    assert len(base64.b32decode(secret + "=" * (-len(secret) % 8))) == 20


def test_recovery_codes_differ_and_their_digest_ignores_case_and_spaces() -> None:
    codes = otp.new_recovery_codes()
    assert len(set(codes)) == otp.RECOVERY_CODES
    code = codes[0]
    assert otp.recovery_digest(code) == otp.recovery_digest(" " + code.upper() + " ")
    assert otp.recovery_digest(code) == otp.recovery_digest(code.replace("-", ""))
    assert otp.recovery_digest(code) != otp.recovery_digest(codes[1])
