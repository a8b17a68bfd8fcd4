"""What every ``emostream`` command shares: log format, the Redis URL default, optional extras."""

from __future__ import annotations

import argparse
import importlib.util
import logging
import os
import sys

from emostream.redact import RedactingFormatter

__all__ = ["DEFAULT_REDIS_URL", "missing_extra", "redis_url", "setup_logging"]

DEFAULT_REDIS_URL = "redis://localhost:6379/0"


def setup_logging(level: str) -> None:
    """One line per message on stderr, every line through :func:`emostream.redact.redact`."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=getattr(logging, level), handlers=[handler])


def redis_url(args: argparse.Namespace) -> str:
    """``--redis-url``, else ``$EMOSTREAM_REDIS_URL``, else a local Redis."""
    return args.redis_url or os.environ.get("EMOSTREAM_REDIS_URL") or DEFAULT_REDIS_URL


def missing_extra(extra: str, *modules: str) -> bool:
    """True (after a one-line hint) when a module of the optional extra ``extra`` is not installed."""
    for name in modules:
        if importlib.util.find_spec(name) is None:
            print(
                f"emostream: {extra} needs: pip install 'emostream[{extra}]' (no module {name!r})",
                file=sys.stderr,
            )
            return True
    return False
