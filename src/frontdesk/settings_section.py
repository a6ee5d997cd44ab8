"""The base of every configuration section: a key the section does not know is an error at
start-up (a misspelt key must not be silently ignored)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid")
