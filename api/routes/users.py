"""Users and their API tokens (admins), and who the caller is (everyone)."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy.exc import IntegrityError

from api.deps import Admin, AnyUser, ReadSessionDep, SessionDep
from api.errors import ApiError, errors
from api.routes.params import IdPath
from api.routing import api_router
from api.schemas.users import TokenOut, UserIn, UserOut, UserPatch
from gtqa.storage import create_user, list_users, rotate_token, set_active, user_by_id

router: APIRouter = api_router("users")


@router.get("/me", summary="The caller's own user", response_model=UserOut)
def me(user: AnyUser) -> UserOut:
    return UserOut.of(user)


@router.get("/users", summary="List users", response_model=list[UserOut])
def users(_: Admin, session: ReadSessionDep) -> list[UserOut]:
    return [UserOut.of(u) for u in list_users(session)]


@router.post(
    "/users",
    summary="Create a user and its token",
    status_code=201,
    response_model=TokenOut,
    responses=errors(409),
)
def new_user(body: UserIn, _: Admin, session: SessionDep) -> TokenOut:
    try:
        with session.begin():
            user, token = create_user(session, body.name, body.role)
    except IntegrityError:
        raise ApiError(409, "user_exists", f"there is already a user {body.name!r}") from None
    return TokenOut(user=UserOut.of(user), token=token)


@router.post(
    "/users/{user_id}/token",
    summary="Issue a new token (the old one stops working)",
    response_model=TokenOut,
    responses=errors(404),
)
def new_token(user_id: IdPath, _: Admin, session: SessionDep) -> TokenOut:
    with session.begin():
        token = rotate_token(session, user_id)
        user = user_by_id(session, user_id)
    return TokenOut(user=UserOut.of(user), token=token)


@router.patch(
    "/users/{user_id}",
    summary="Activate or deactivate a user",
    response_model=UserOut,
    responses=errors(404, 409),
)
def update_user(user_id: IdPath, body: UserPatch, admin: Admin, session: SessionDep) -> UserOut:
    if user_id == admin.id and not body.active:
        raise ApiError(409, "self_lockout", "an admin cannot deactivate their own user")
    with session.begin():
        set_active(session, user_id, body.active)
        return UserOut.of(user_by_id(session, user_id))
