"""Audit imports."""

from __future__ import annotations

from pydantic import BaseModel, Field


class ImportResult(BaseModel):
    read: int = Field(description="audits in the file")
    stored: int = Field(description="new ones (ids already stored are left alone)")
