"""Secret handling in one place: keys held, header values hidden, text and errors redacted."""

from __future__ import annotations

import pickle

from orkes.connectors._secrets import HiddenValue, Secret, redact, without_secrets
from orkes.errors import ConnectionFailed, ConnectorError, RateLimited


def test_redact_skips_empty_secrets() -> None:
    assert redact("abc", ["", "b"]) == "a***c"


def test_without_secrets_hides_them_in_the_message_and_the_service_message() -> None:
    cause = ValueError("the cause")
    try:
        raise RateLimited(
            "limit for sk-1 hit", service_message="key sk-1 is out", retry_after=3.0
        ) from cause
    except RateLimited as raised:
        error = raised
    hidden = without_secrets(error, ["", "sk-1"])
    assert type(hidden) is RateLimited
    assert (str(hidden), hidden.service_message) == ("limit for *** hit", "key *** is out")
    assert (hidden.status, hidden.retry_after) == (429, 3.0)
    # The cause and the traceback's frames may hold the secret: neither is kept.
    assert hidden.__cause__ is None
    assert hidden.__suppress_context__
    assert hidden.__traceback__ is None
    assert error.__cause__ is cause
    assert str(error) == "limit for sk-1 hit"  # the original is left as it was
    assert str(pickle.loads(pickle.dumps(hidden))) == "limit for *** hit"


def test_without_secrets_gives_back_an_error_that_shows_none() -> None:
    error = ConnectionFailed("the connection broke")
    assert without_secrets(error, ["sk-1"]) is error
    bare = ConnectorError("no key here")
    assert without_secrets(bare, []) is bare


def test_a_secret_and_a_hidden_header_value_show_stars_in_their_repr() -> None:
    key, header = Secret("sk-1"), HiddenValue("Bearer sk-1")
    assert (repr(key), repr(header)) == ("Secret('***')", "'***'")
    assert (key.value, header.reveal()) == ("sk-1", "Bearer sk-1")
