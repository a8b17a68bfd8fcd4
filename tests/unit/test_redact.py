"""Redaction parses URLs the way cameras do: whatever a password holds, it never comes out."""

from __future__ import annotations

import logging
import string
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import emostream.redact as redact_module
from emostream.redact import RedactingFormatter, redact, register, secrets_of

PRINTABLE = st.text(alphabet=st.sampled_from(string.printable.strip()), min_size=1, max_size=24)


@pytest.fixture
def no_registered_secrets() -> Iterator[None]:
    """Exact-output checks run with an empty registry (other tests register passwords)."""
    saved = (set(redact_module._known), redact_module._known_re)
    redact_module._known.clear()
    redact_module._known_re = None
    yield
    redact_module._known.update(saved[0])
    redact_module._known_re = saved[1]


def test_the_reported_leaks_are_closed(no_registered_secrets: None) -> None:
    assert redact("rtsp://admin:p@ss@h/s") == "rtsp://***@h/s"  # was rtsp://***@ss@h/s
    assert redact("rtsp://u:pa/ss@h/x") == "rtsp://***@h/x"  # was logged whole
    assert redact("rtsp://admin@cam:554/s") == "rtsp://***@cam:554/s"  # user only
    assert redact("rtsp://u:p%40ss@[::1]:554/x") == "rtsp://***@[::1]:554/x"
    assert redact("http://cam/snap.jpg?user=a&password=hunter2&token=t0k#x") == (
        "http://cam/snap.jpg?user=a&password=***&token=***#x"
    )
    assert redact("open rtsp://10.0.0.5/s1 and http://cam/x") == "open rtsp://10.0.0.5/s1 and http://cam/x"


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(user=PRINTABLE, password=PRINTABLE)
def test_any_printable_password_is_masked_inside_its_url(
    no_registered_secrets: None, user: str, password: str
) -> None:
    url = f"rtsp://{user}:{password}@127.0.0.1:554/stream"
    assert redact(f"cannot open {url}: refused") == "cannot open rtsp://***@127.0.0.1:554/stream: refused"


@settings(max_examples=100, deadline=None)
@given(password=st.text(alphabet=st.sampled_from(string.printable), min_size=4, max_size=24))
def test_a_registered_password_is_masked_anywhere_even_with_spaces(password: str) -> None:
    url = f"rtsp://cam:{password}@10.1.2.3/live"
    register(url)
    for text in (f"reading {url} failed", f"auth said {password!r} was wrong", url.replace("@", " @ ")):
        assert password not in redact(text)
    # ...and the query secret of another URL still goes, whatever the registry masked first
    assert "hunter22" not in redact("http://cam/x.jpg?password=hunter22")


def test_secrets_of_lists_every_encoding() -> None:
    found = secrets_of("rtsp://u:p%40ss@h/s?auth=xyz")
    assert {"u:p%40ss", "p%40ss", "p@ss", "xyz", "u"} <= set(found)


def test_the_formatter_masks_messages_arguments_and_tracebacks() -> None:
    fmt = RedactingFormatter("%(message)s")
    try:
        raise RuntimeError("cannot open rtsp://a:b@c/d")
    except RuntimeError:
        import sys

        record = logging.LogRecord(
            "x", logging.ERROR, "f", 1, "camera %s", ("rtsp://a:b@c/d",), sys.exc_info()
        )
    out = fmt.format(record)
    assert "a:b@" not in out
    assert out.count("rtsp://***@c/d") == 3  # the message, the traceback's source line, the exception
