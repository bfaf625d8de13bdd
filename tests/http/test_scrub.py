"""Scrubbing (http/scrub.py), unit by unit: what a person may see of a response never shows the key, in any
spelling a server may echo it in, and what holds no key comes back untouched (the same object, on the poll path).

The hostile-server tests (tests/hardening/test_key_leaks.py) prove the same end to end; these are fast enough
to run for every mutant of the module (``make mutate MODULE=scrub``).
"""

from __future__ import annotations

import json
from urllib.parse import unquote

import pytest

from airflow_provider_vidjobs.http.scrub import scrub, scrub_document, scrub_message

KEY = "sk-Live9kT3mQ7vX2pL8rW4nB6z"  # 26 characters, letters, digits and '-' as the APIs issue them


def url_encoded(text: str, upper: bool = False) -> str:
    return "".join(f"%{ord(c):02X}" if upper else f"%{ord(c):02x}" for c in text)


def json_escaped(text: str, upper: bool = False) -> str:
    return "".join((f"\\u{ord(c):04X}" if upper else f"\\u{ord(c):04x}") for c in text)


def traces(text: str, key: str = KEY, piece: int = 12) -> list[str]:
    """Every piece of ``piece`` characters of the key found in ``text``, decoded every way a server encodes."""
    decoded = {text, unquote(text), text.encode().decode("unicode_escape", errors="ignore")}
    found = []
    for candidate in decoded:
        for i in range(len(key) - piece + 1):
            if key[i : i + piece] in candidate:
                found.append(key[i : i + piece])
    return found


# ----- scrub: the data path (every poll) ---------------------------------------------------------


def test_scrub_replaces_every_occurrence_and_keeps_the_rest() -> None:
    assert scrub(f"a {KEY} b {KEY}", KEY) == "a *** b ***"


@pytest.mark.parametrize("secret", [None, ""])
def test_scrub_without_a_secret_changes_nothing(secret: str | None) -> None:
    assert scrub(f"a {KEY}", secret) == f"a {KEY}"


def test_scrub_of_nothing_is_nothing() -> None:
    assert scrub(None, KEY) is None


# ----- scrub_message: text a person sees -----------------------------------------------------------


@pytest.mark.parametrize(
    "spelling",
    [
        KEY,
        url_encoded(KEY),
        url_encoded(KEY, upper=True),
        json_escaped(KEY),
        json_escaped(KEY, upper=True),
        "".join(c if i % 2 else url_encoded(c) for i, c in enumerate(KEY)),  # every other character encoded
        "".join(json_escaped(c) if i % 3 == 0 else c for i, c in enumerate(KEY)),
        "".join(url_encoded(c, upper=True) if i % 2 else json_escaped(c) for i, c in enumerate(KEY)),
    ],
    ids=["as-is", "url", "URL", "json", "JSON", "url-mixed", "json-mixed", "url-and-json"],
)
def test_the_key_in_any_spelling_is_replaced_and_the_text_around_kept(spelling: str) -> None:
    shown = scrub_message(f'error: "{spelling}" is not valid', KEY)
    assert shown == 'error: "***" is not valid'
    assert traces(shown or "") == []


@pytest.mark.parametrize("start", [0, 5, 14])
def test_a_piece_of_twelve_characters_anywhere_in_the_key_is_replaced(start: int) -> None:
    piece = KEY[start : start + 12]
    assert scrub_message(f"cut here: {piece}", KEY) == "cut here: ***"


def test_a_piece_shorter_than_twelve_characters_is_left() -> None:
    """``sk-``, or OpenAI's masked ``sk-Live...B6z``, say nothing about the key: messages keep them."""
    for text in (f"key {KEY[:11]}...", f"ends in {KEY[-11:]}", "sk-"):
        assert scrub_message(text, KEY) == text


def test_a_key_straddling_the_end_of_a_cut_text_is_replaced() -> None:
    """What a server's or a preview's cut leaves at the end: the first 15 characters, no more."""
    assert scrub_message("body: " + KEY[:15], KEY) == "body: ***"
    assert scrub_message(KEY[-13:] + " (continued)", KEY) == "*** (continued)"


def test_overlapping_and_adjacent_traces_become_one_mark() -> None:
    assert scrub_message(f"[{KEY}{KEY}]", KEY) == "[***]"
    assert scrub_message(f"[{KEY[:20]}{KEY[10:]}]", KEY) == "[***]"
    assert scrub_message(f"{KEY} and {KEY}", KEY) == "*** and ***"


def test_a_short_key_counts_only_whole() -> None:
    short = "abc123def"
    assert scrub_message(f"x {short} y {short[:8]}", short) == f"x *** y {short[:8]}"
    assert scrub_message(url_encoded(short), short) == "***"


def test_a_key_with_characters_beyond_latin_1_is_found_in_plain_and_encoded_text() -> None:
    key = "clé-秘密-0123456789"
    assert scrub_message(f"<{key}>", key) == "<***>"
    encoded = "".join(url_encoded(c) if ord(c) <= 0xFF else c for c in key)
    assert scrub_message(f"<{encoded}>", key) == "<***>"


@pytest.mark.parametrize("text", ["", "no key here, 100% sure \\n", "sk-other-key-0000000000000"])
def test_text_without_the_key_comes_back_as_it_was(text: str) -> None:
    assert scrub_message(text, KEY) == text


@pytest.mark.parametrize("secret", [None, ""])
def test_scrub_message_without_a_secret_changes_nothing(secret: str | None) -> None:
    assert scrub_message(f"a {KEY}", secret) == f"a {KEY}"
    assert scrub_message(None, secret) is None


# ----- scrub_document: decoded JSON ---------------------------------------------------------------


def test_every_string_of_a_document_is_scrubbed_keys_included_and_nothing_else_changes() -> None:
    document = {
        "id": "job-1",
        "error": {"message": f"key {KEY} rejected", "code": 401},
        "logs": [f"{KEY}", "fine", 3, None, True],
        KEY: "a key as a key",
    }
    clean = scrub_document(document, KEY)
    assert clean == {
        "id": "job-1",
        "error": {"message": "key *** rejected", "code": 401},
        "logs": ["***", "fine", 3, None, True],
        "***": "a key as a key",
    }
    assert KEY in json.dumps(document)  # the caller's document is not changed in place


def test_a_document_without_the_key_is_returned_itself() -> None:
    document = {"id": "job-1", "nested": [{"a": "b"}], "n": 1}
    assert scrub_document(document, KEY) is document


@pytest.mark.parametrize("secret", [None, ""])
def test_scrub_document_without_a_secret_returns_the_document(secret: str | None) -> None:
    document = {"message": KEY}
    assert scrub_document(document, secret) is document


def test_scalars_are_scrubbed_as_text_or_left() -> None:
    assert scrub_document(f"x{KEY}", KEY) == "x***"
    assert scrub_document(42, KEY) == 42


def test_a_deeply_nested_document_is_walked_without_recursion() -> None:
    document: object = f"deep {KEY}"
    for _ in range(5000):
        document = [document]
    clean = scrub_document(document, KEY)
    for _ in range(5000):
        assert isinstance(clean, list)
        clean = clean[0]
    assert clean == "deep ***"


def test_a_key_that_json_escapes_is_still_found() -> None:
    key = 'k"ey\\with-quote-and-backslash'
    assert scrub_document({"m": f"<{key}>"}, key) == {"m": "<***>"}


def test_a_key_seen_only_in_the_dumped_json_is_not_a_hit() -> None:
    """The quick check over the dumped JSON may see the key where no string holds it; the walk decides."""
    document = {"sizes": [1280, 720], "note": "1280 by 720"}
    assert scrub_document(document, "1280, 720") is document


def test_a_key_beyond_ascii_is_found_in_a_document() -> None:
    """The quick check dumps the document as written (not ``\\uXXXX``-escaped), or it would miss such a key."""
    key = "clé-秘密-0123456789"
    assert scrub_document({"error": f"bad key {key}"}, key) == {"error": "bad key ***"}


def test_every_occurrence_of_a_piece_is_found_not_only_the_first_and_last() -> None:
    piece = KEY[3:15]
    assert scrub_message(f"{piece} / {piece} / {piece}", KEY) == "*** / *** / ***"


def test_overlapping_pieces_of_a_repetitive_key_are_replaced_whole() -> None:
    key = "k" * 20
    assert scrub_message("k" * 13, key) == "***"
    assert scrub_message("<" + "k" * 15 + ">", key) == "<***>"
