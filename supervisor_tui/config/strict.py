"""The base of every config section: an unknown key is an error, never ignored (a typo
in a threshold would otherwise leave the default silently in force)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")
