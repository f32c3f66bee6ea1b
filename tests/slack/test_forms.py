"""The fast body reader (bot.slack.forms) reads every body exactly as Bolt's parser does."""

from __future__ import annotations

import json
import string
from typing import Any
from urllib.parse import parse_qsl, quote_plus, urlencode

from hypothesis import given, settings
from hypothesis import strategies as st
from slack_bolt.request.internals import parse_body

from bot.slack.forms import decode, form_fields, read_body

FORM = "application/x-www-form-urlencoded"
# what form bodies are made of, with the pieces that take the slow path or break an escape
PIECES = st.sampled_from(
    [*string.ascii_letters[:6], *string.digits[:4], "%", "%2", "%4", "%4G", "%41", "%7B", "%22"]
    + ["%e2%9c%93", "%E2%9C", "%FF", "%C3", "%28", "+", "&", "=", "\\", "\\x41", "é", "✓", "\n"]
    + [" ", "~", ";", "payload", "payload=", "%25", "%5C", "%00", "%0A", "\x7f"]
)
BODIES = st.lists(PIECES, max_size=40).map("".join)


@settings(max_examples=3000, deadline=None)
@given(BODIES)
def test_form_fields_are_parse_qsl(text: str) -> None:
    assert form_fields(text) == dict(parse_qsl(text, keep_blank_values=True))


@settings(max_examples=2000, deadline=None)
@given(st.text(max_size=60))
def test_any_text_decodes_as_unquote_does(text: str) -> None:
    from urllib.parse import unquote

    assert decode(text) == unquote(text)
    assert decode(quote_plus(text).replace("+", " ")) == text


def payload_body(payload: Any) -> str:
    return urlencode({"payload": json.dumps(payload)})


@settings(max_examples=500, deadline=None)
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=20),
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
        max_leaves=20,
    )
)
def test_payloads_read_as_bolt_reads_them(payload: Any) -> None:
    body = payload_body({"type": "block_actions", "value": payload})
    assert read_body(body, FORM) == parse_body(body, FORM)


def test_every_shape_bolt_reads() -> None:
    cases = [
        ("", FORM),
        ('{"type": "event_callback"}', "application/json"),
        ('{"type": "event_callback"}', FORM),  # a body starting with { is JSON whatever it says
        ("command=%2Fprivate-endpoint&text=create+orders&x", FORM),
        ("token=abc&payload", FORM),  # the word without the field: read as a form with it empty
        ("payloads=1", FORM),
        ("ssl_check=1&token=abc", None),
        (payload_body({"type": "view_submission", "view": {"title": "Step 2 ✓ \\ %"}}), FORM),
    ]
    for body, content_type in cases:
        try:
            expected: Any = parse_body(body, content_type)
        except ValueError as error:
            expected = type(error)
        try:
            got: Any = read_body(body, content_type)
        except ValueError as error:
            got = type(error)
        assert got == expected, body
