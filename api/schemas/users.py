"""Users and their tokens."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from api.schemas.common import Name
from gtqa.storage import Role, UserRecord


class UserOut(BaseModel):
    id: int
    name: str
    role: Role
    active: bool

    @classmethod
    def of(cls, user: UserRecord) -> UserOut:
        return cls(id=user.id, name=user.name, role=user.role, active=user.active)


class UserIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name
    role: Role


class UserPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    active: bool


class TokenOut(BaseModel):
    user: UserOut
    token: str = Field(description="the API token; shown once, only its hash is kept")
