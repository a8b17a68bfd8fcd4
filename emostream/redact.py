"""Credentials out of text: every URL's ``user:password@`` part becomes ``***@``.

The one function every log line, error, metric label and event that may hold a URL goes through.
"""

from __future__ import annotations

import re

__all__ = ["redact"]

_USERINFO = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)[^/@\s]+@")


def redact(text: str) -> str:
    """Replace the ``user:password@`` part of every URL in ``text`` with ``***@``."""
    return _USERINFO.sub(r"\g<scheme>***@", text)
