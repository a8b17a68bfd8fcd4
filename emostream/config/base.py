"""What every config model shares: frozen, unknown keys rejected, and the id type of sources."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict

__all__ = ["ConfigModel", "SourceId"]

_ID = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


def _check_id(v: str) -> str:
    if not _ID.match(v):
        raise ValueError("must be 1-64 characters of letters, digits, '_', '-' or '.'")
    return v


SourceId = Annotated[str, AfterValidator(_check_id)]
"""A camera or audio source id: it appears in events, channel names and metric labels."""


class ConfigModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
