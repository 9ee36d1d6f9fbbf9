"""Join codes, tokens and nickname sanitation."""
from __future__ import annotations

import pytest

from game import names


@pytest.mark.parametrize("raw,clean", [
    ("  Ada  ", "Ada"),
    ("Ada\u200bLovelace", "AdaLovelace"),           # zero-width space
    ("\u202eevil\u202c", "evil"),                    # bidi override and pop
    ("\u2066Bob\u2069", "Bob"),                      # bidi isolates
    ("Ｆｕｌｌｗｉｄｔｈ", "Fullwidth"),             # NFKC
    ("tab\there", "tabhere"),                        # control characters go
    ("two\u00a0\u00a0spaces", "two spaces"),         # odd spaces collapse
    ("Zoë", "Zoë"), ("李小龍", "李小龍"), ("Ali 2", "Ali 2"),
    ("e\u0301\u0301\u0301\u0301\u0301x", "\u00e9\u0301\u0301x"),  # NFKC, then two marks
])
def test_it_cleans_nicknames(raw, clean):
    assert names.clean_nickname(raw) == clean


@pytest.mark.parametrize("raw", ["", " ", "a", "\u200b\u200b\u200b", "x" * 25, "!!!", "--",
                                 "Fuck you", "F.u.c.k", "TheInstructor", "Foundation"])
def test_it_refuses_bad_nicknames(raw):
    with pytest.raises(names.NicknameError):
        names.clean_nickname(raw)


def test_codes_are_short_unambiguous_and_forgiving():
    codes = {names.new_code() for _ in range(200)}
    assert len(codes) > 190
    assert all(len(c) == 6 and not set(c) & set("01ILO") for c in codes)
    assert names.normalize_code(" k7q-xpm ") == "K7QXPM"


def test_tokens_are_long_and_stored_only_as_hashes():
    token = names.new_token()
    assert len(token) >= 43 and names.token_hash(token) != token
    assert len(names.token_hash(token)) == 64
    nick = names.generated_nickname()
    assert names.clean_nickname(nick) == nick  # generated names pass our own checks
