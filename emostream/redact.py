"""Credentials out of text: the one function every log line, error, label and event goes through.

URLs are parsed the way cameras split them, not matched by a pattern: after ``scheme://`` the
userinfo runs to the **last** ``@`` that is followed by a host (name, IPv4 or ``[IPv6]``, optional
port) and then the end, ``/``, ``?`` or ``#``; so ``rtsp://admin:p@ss@h/s`` and ``rtsp://u:pa/ss@h/x``
both lose their whole password. Query values of secret-looking keys (``password=``, ``token=``,
``auth=`` …) go too. A URL in free text ends at white space, so a password holding a space could
still leak from a URL the daemon has never seen; every URL it is configured with is therefore
:func:`register`\\ ed, and its secrets (raw, percent-decoded and percent-encoded) are replaced
wherever they appear, whatever characters they hold. :class:`RedactingFormatter` applies all of
this to every formatted log record, tracebacks included.
"""

from __future__ import annotations

import logging
import re
import threading
from urllib.parse import quote, unquote

__all__ = ["RedactingFormatter", "redact", "register", "secrets_of"]

MASK = "***"
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")
# A host after the userinfo: a name or IPv4, or [IPv6], with an optional port, then the authority ends.
_HOST = re.compile(r"(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._~%-]+)(?::\d*)?(?=$|[/?#\s])")
_SECRET_KEYS = re.compile(
    r"(?i)([?&;](?:password|passwd|pwd|pass|token|access_token|auth|authorization|key|apikey|api_key|secret|"
    r"signature|sig)=)([^&#\s]*)"
)
_MIN_SECRET = 4  # shorter secrets are only masked inside URLs: "ab" everywhere would wreck the logs
_lock = threading.Lock()
_known: set[str] = set()
_known_re: re.Pattern[str] | None = None


def _userinfo_end(url: str, start: int) -> int | None:
    """Index of the ``@`` that ends the userinfo of the URL starting at ``start`` (after ``://``)."""
    best = None
    i = url.find("@", start)
    while i != -1:
        if _HOST.match(url, i + 1):
            best = i
        i = url.find("@", i + 1)
    return best


def secrets_of(url: str) -> list[str]:
    """The credential strings in one whole URL: its userinfo, password and user, and secret query
    values; each also percent-decoded and percent-encoded."""
    m = _SCHEME.search(url)
    found: list[str] = []
    if m is not None:
        end = _userinfo_end(url, m.end())
        if end is not None:
            info = url[m.end() : end]
            user, _, password = info.partition(":")
            found += [info, password, user] if password else [info]
    found += [v for _k, v in _SECRET_KEYS.findall(url) if v]
    out: set[str] = set()
    for s in found:
        out |= {s, unquote(s), quote(s, safe=""), quote(unquote(s), safe="")}
    return sorted((s for s in out if s), key=len, reverse=True)


def register(url: str) -> None:
    """Remember the secrets of a URL the daemon was given, so they are masked in any text."""
    global _known_re
    new = {s for s in secrets_of(url) if len(s) >= _MIN_SECRET}
    with _lock:
        if new <= _known:
            return
        _known.update(new)
        ordered = sorted(_known, key=len, reverse=True)  # longest first: no partial leftovers
        _known_re = re.compile("|".join(re.escape(s) for s in ordered))


def _redact_urls(text: str) -> str:
    out, pos = [], 0
    for m in _SCHEME.finditer(text):
        if m.start() < pos:
            continue
        stop = m.end()
        while stop < len(text) and not text[stop].isspace():
            stop += 1
        end = _userinfo_end(text[:stop], m.end())
        out.append(text[pos : m.end()])
        if end is not None:
            out.append(MASK)
            pos = end
        else:
            pos = m.end()
    out.append(text[pos:])
    return _SECRET_KEYS.sub(lambda k: k.group(1) + MASK, "".join(out))


def redact(text: str) -> str:
    """``text`` with every URL's userinfo as ``***@``, secret query values as ``***`` and every
    registered secret as ``***``."""
    text = _redact_urls(text)  # first: a registered secret must not mangle the URLs' own structure
    pattern = _known_re
    if pattern is not None:
        text = _redact_urls(pattern.sub(MASK, text))  # again: a masked space may have joined a URL
    return text


class RedactingFormatter(logging.Formatter):
    """A formatter whose output (message, arguments, traceback) has been through :func:`redact`."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))
