"""Typed WeChat API errors: one class per way a call can fail, each saying whether a retry can help."""

from __future__ import annotations

from typing import ClassVar

# Not WeChat codes: the client's own, for failures that never produced a WeChat errcode.
SYSTEM_BUSY = -1  # WeChat's own "system busy"; also used for timeouts, connection errors and 5xx
HTTP_ERROR = -2  # a non-JSON answer with a 4xx status: a wrong api_base or a proxy in the way


class WeChatAPIError(Exception):
    """WeChat answered a non-zero errcode (or could not be reached).

    `retryable` is a class attribute so the outbox can decide without knowing codes: permanent errors
    (a bad openid, an unfollowed user) must not be retried, retryable ones may succeed later.
    """

    retryable: ClassVar[bool] = False
    codes: ClassVar[frozenset[int]] = frozenset()

    def __init__(self, errcode: int, errmsg: str) -> None:
        super().__init__(f"WeChat errcode {errcode}: {errmsg}")
        self.errcode = errcode
        self.errmsg = errmsg


class TokenInvalidError(WeChatAPIError):
    """The access token was refused (invalid, not the latest, or expired); the client refreshes once."""

    codes = frozenset({40001, 40014, 42001})


class CredentialError(WeChatAPIError):
    """The AppID, AppSecret or caller IP is refused when fetching a token: a configuration problem."""

    codes = frozenset({40002, 40013, 40125, 40164})


class NotFollowingError(WeChatAPIError):
    """The user does not (or no longer) follow the account, so nothing can be sent to them."""

    codes = frozenset({43004})


class OutsideWindowError(WeChatAPIError):
    """A customer-service message outside the 48 hours after the user's last interaction."""

    codes = frozenset({45015})


class QuotaError(WeChatAPIError):
    """The customer-service message quota for this user is used up; it refills when they interact again."""

    retryable = True
    codes = frozenset({45047})


class DailyLimitError(WeChatAPIError):
    """The account's daily quota for this API is used up; retry after WeChat's daily reset."""

    retryable = True
    codes = frozenset({45009})


class InvalidOpenidError(WeChatAPIError):
    """The openid does not belong to this account."""

    codes = frozenset({40003})


class RefusedError(WeChatAPIError):
    """The user refused (blocked) this account's template messages."""

    codes = frozenset({43101})


class TransientAPIError(WeChatAPIError):
    """A timeout, connection error, HTTP 5xx or "system busy" that outlasted the client's bounded retries."""

    retryable = True
    codes = frozenset({SYSTEM_BUSY})


_BY_CODE: dict[int, type[WeChatAPIError]] = {
    code: cls
    for cls in (
        TokenInvalidError,
        CredentialError,
        NotFollowingError,
        OutsideWindowError,
        QuotaError,
        DailyLimitError,
        InvalidOpenidError,
        RefusedError,
        TransientAPIError,
    )
    for code in cls.codes
}


def error_for(errcode: int, errmsg: str) -> WeChatAPIError:
    """The typed error for a WeChat errcode; codes without a class of their own are permanent."""
    return _BY_CODE.get(errcode, WeChatAPIError)(errcode, errmsg)
