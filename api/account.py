"""The caller's account: who it is, its plan with the use of each limit, and where its jobs'
notification email goes by default."""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec
from litestar import Request, get, patch

from api.errors import error_responses
from api.limits import PlanView, plan_view
from api.notifications import check_email, check_language
from api.state import AppState
from storage.accounts import Account, Caller
from storage.plans import PlanRepository


class AccountView(msgspec.Struct):
    name: str
    notify_email: str | None
    notify_language: str | None
    created_at: dt.datetime
    plan: PlanView


class AccountChange(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Fields left out stay as they are; null clears one."""

    notify_email: str | msgspec.UnsetType | None = msgspec.UNSET
    notify_language: str | msgspec.UnsetType | None = msgspec.UNSET


async def account_view(state: AppState, account: Account) -> AccountView:
    usage = await PlanRepository(state.pool).usage(account.id)
    return AccountView(
        name=account.name,
        notify_email=account.notify_email,
        notify_language=account.notify_language,
        created_at=account.created_at,
        plan=plan_view(usage, dt.datetime.now(dt.UTC)),
    )


@get(
    "/v1/account",
    operation_id="getAccount",
    summary="Your account, and your plan's limits with what you use of each",
    tags=["account"],
)
async def get_account(request: Request[Any, Any, Any], caller: Caller) -> AccountView:
    state = AppState.of(request)
    return await account_view(state, await state.accounts.get(caller.user_id))


@patch(
    "/v1/account",
    operation_id="updateAccount",
    responses=error_responses(422),
    summary="Set where job emails go when a job names no notify_email, and their language",
    tags=["account"],
)
async def update_account(
    request: Request[Any, Any, Any], caller: Caller, data: AccountChange
) -> AccountView:
    email = data.notify_email
    if isinstance(email, str):
        email = check_email(email, "notify_email")
    language = data.notify_language
    if isinstance(language, str):
        language = check_language(language, "notify_language")
    state = AppState.of(request)
    account = await state.accounts.set_notification_defaults(
        caller.user_id,
        None if isinstance(email, msgspec.UnsetType) else email,
        None if isinstance(language, msgspec.UnsetType) else language,
        email_given=not isinstance(email, msgspec.UnsetType),
        language_given=not isinstance(language, msgspec.UnsetType),
    )
    return await account_view(state, account)
