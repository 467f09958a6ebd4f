"""The route class of every API router: it reads a route's role dependency and documents it, so the
OpenAPI entry of each operation says who may call it (``x-roles`` and a line of its description)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Protocol, cast

from fastapi import APIRouter, Depends, Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from api.deps import CurrentUser, RequireRole
from api.errors import ApiError, errors
from gtqa.storage import Role


class RoleRoute(APIRoute):
    def __init__(self, path: str, endpoint: Any, **kwargs: Any) -> None:
        super().__init__(path, endpoint, **kwargs)
        self.query_names = frozenset(
            field.alias for d in [self.dependant, *dependencies(self.dependant)] for field in d.query_params
        )
        roles = route_roles(self)
        if roles is not None:
            self.openapi_extra = {**(self.openapi_extra or {}), "x-roles": sorted(roles)}
            self.description = f"{self.description}\n\n**Roles:** {', '.join(sorted(roles))}".strip()


def route_roles(route: APIRoute) -> frozenset[str] | None:
    """The roles a route admits (None: no role check, e.g. health)."""
    return declared_roles(route, RequireRole)


class _RoleCheck(Protocol):
    roles: frozenset[Role]


def declared_roles(route: APIRoute, check: type[_RoleCheck]) -> frozenset[str] | None:
    """The roles admitted by every ``check`` dependency of a route (one with a ``roles`` set, such as
    ``RequireRole`` or the pages' ``PageRole``); None if it has none."""
    calls = [d.call for d in dependencies(route.dependant)]
    found = [cast(_RoleCheck, c).roles for c in calls if isinstance(c, check)]
    if not found:
        return None
    return frozenset(r.value for r in frozenset.intersection(*found))


def dependencies(dependant: Dependant) -> Iterator[Dependant]:
    """A route's dependencies, their own dependencies included (depth first)."""
    for sub in dependant.dependencies:
        yield sub
        yield from dependencies(sub)


def strict_query(request: Request, _: CurrentUser) -> None:
    """Refuse query parameters a route does not declare, or a single-valued one given twice: a misspelt
    filter (``?min_scroe=0.9``) must not silently return everything. Runs after authentication."""
    allowed: frozenset[str] | None = getattr(request.scope.get("route"), "query_names", None)
    if allowed is None:
        return
    unknown = sorted(set(request.query_params) - allowed)
    repeated = sorted(k for k in allowed if len(request.query_params.getlist(k)) > 1)
    if unknown or repeated:
        message = f"unknown query parameters {unknown}" if unknown else f"parameters given twice: {repeated}"
        details = {"unknown": unknown, "repeated": repeated, "allowed": sorted(allowed)}
        raise ApiError(422, "invalid_query", message, details)


def api_router(tag: str, **kwargs: Any) -> APIRouter:
    """A router whose routes check their query strictly and document the errors any of them can answer
    with: an unreadable body (400), auth (401, 403) and validation (422)."""
    return APIRouter(
        tags=[tag],
        route_class=RoleRoute,
        responses=errors(400, 401, 403, 422),
        dependencies=[Depends(strict_query)],
        **kwargs,
    )
