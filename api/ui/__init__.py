"""The pages: the auditor's review page, the ops dashboard and the spec author's spec and prompt pages
(Jinja2 templates, one small script, server-drawn SVG charts). ``create_app`` includes this router.

Routes are left out of the OpenAPI document (the JSON API is documented there); who may open which
page is declared on each route with ``api.ui.access.PageRole`` and listed by ``ui_routes()``.
"""

from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.routing import APIRoute, iter_route_contexts

from api.errors import ApiError
from api.ui import auth, calibrations, dashboard, review, spec_pages
from api.ui.access import PageRoute
from api.ui.templates import STATIC_TYPES, static_bytes

router = APIRouter(include_in_schema=False)
_static = APIRouter(route_class=PageRoute)


@_static.get("/ui/static/{name}", name="static")
def static(name: str) -> Response:
    """The pages' script and styles (and the palette as CSS); URLs carry a content hash."""
    if name not in STATIC_TYPES:
        raise ApiError(404, "not_found", f"no static file {name!r}")
    headers = {"Cache-Control": "public, max-age=86400", "X-Content-Type-Options": "nosniff"}
    return Response(static_bytes(name), media_type=STATIC_TYPES[name], headers=headers)


for _module in (auth, review, dashboard, calibrations, spec_pages):
    router.include_router(_module.router)
router.include_router(_static)


def ui_routes() -> list[tuple[str, str, APIRoute]]:
    """Every page route as (method, path, route), the included routers' own among them."""
    found: list[tuple[str, str, APIRoute]] = []
    for ctx in iter_route_contexts(router.routes):
        route = ctx.original_route
        if isinstance(route, APIRoute):
            found.extend((method, str(ctx.path), route) for method in sorted(ctx.methods or ()))
    return found
