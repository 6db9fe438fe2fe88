"""Kite login that works over SSH: show the login URL, let the user open it in any browser,
and paste back the redirect URL (or just its `request_token`); we exchange it for an access
token with the vault-held api_secret and store the token encrypted with its lapse time
(the first 06:00 IST after Kite's `login_time`).

No secret ever reaches a log line, an exception message or the token-refresh log: failures
are recorded by `log_failed_login` with a message naming what went wrong, not the values.
"""

from __future__ import annotations

import logging
import re
import uuid
from datetime import datetime, time, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlencode, urlsplit

from ..domain.clock import IST, ensure_utc
from ..domain.errors import AuthError, ValidationError

if TYPE_CHECKING:

    from .context import AppContext

log = logging.getLogger(__name__)

KITE_LOGIN_URL = "https://kite.zerodha.com/connect/login"
SESSION_LAPSE_AT = time(6, 0)
_TOKEN_RE = re.compile(r"[A-Za-z0-9]{6,128}")


def login_url(api_key: str, root: str | None = None) -> str:
    """Where the user logs in: Kite's page, or `{root}/connect/login` for a local sandbox."""
    base = f"{root.rstrip('/')}/connect/login" if root else KITE_LOGIN_URL
    return f"{base}?{urlencode({'api_key': api_key, 'v': '3'})}"


def parse_request_token(text: str) -> str:
    """The request_token from a pasted redirect URL (or query string), or a bare token."""
    value = (text or "").strip().strip("'\"<>")
    if not value:
        raise ValidationError("request_token", "paste the redirect URL or the request_token")
    if _TOKEN_RE.fullmatch(value):
        return value
    query = urlsplit(value).query if "://" in value or value.startswith("/") else value
    if not query and "?" in value:
        query = value.split("?", 1)[1]
    params = parse_qs(query.lstrip("?"))
    status = (params.get("status") or [""])[0]
    if status and status.lower() != "success":
        raise ValidationError("request_token",
                              f"Kite reported login status '{status[:20]}': log in again")
    tokens = params.get("request_token") or []
    if len(tokens) != 1 or not _TOKEN_RE.fullmatch(tokens[0].strip()):
        raise ValidationError(
            "request_token",
            "no request_token found: paste the full URL the browser was redirected to "
            "(it contains ?request_token=...) or the token itself")
    return tokens[0].strip()


def lapse_after(login_time: datetime) -> datetime:
    """The first 06:00 IST strictly after `login_time` (UTC-aware)."""
    local = ensure_utc(login_time).astimezone(IST)
    lapse = datetime.combine(local.date(), SESSION_LAPSE_AT, tzinfo=IST)
    if lapse <= local:
        lapse += timedelta(days=1)
    return ensure_utc(lapse)


def _login_time(value: Any, fallback: datetime) -> datetime:
    if isinstance(value, datetime):
        stamp = value
    elif isinstance(value, str) and value.strip():
        try:
            stamp = datetime.fromisoformat(value.strip())
        except ValueError:
            return fallback
    else:
        return fallback
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=IST)  # Kite's times are IST wall-clock strings
    return ensure_utc(stamp)


class KiteSessionExchange:
    """Turns a pasted redirect into a stored, encrypted access token for one account."""

    def __init__(self, ctx: AppContext, user_id: uuid.UUID, *, timeout: float = 7.0) -> None:
        from .brokers import BrokerAccountService  # lazy: the URL helpers stay import-light

        self.ctx = ctx
        self.user_id = user_id
        self.accounts = BrokerAccountService(ctx, user_id)
        self.timeout = timeout

    def _root(self, creds) -> str | None:
        """The account's own API root, else the configured one (TUI_TRADER_KITE_ROOT), else
        Kite's: the same choice the broker and the ticker make."""
        return creds.api_root or self.ctx.settings.kite_root

    def login_url(self, account_id: uuid.UUID | str) -> str:
        creds = self.accounts.credentials(account_id)
        if creds.api_key is None:
            raise ValidationError("api_key", "this account has no Kite API key")
        return login_url(creds.api_key.reveal(), self._root(creds))

    def exchange(self, account_id: uuid.UUID | str, pasted: str) -> datetime:
        """Exchange the request token; store the access token; return when it lapses."""
        request_token = parse_request_token(pasted)
        creds = self.accounts.credentials(account_id)
        if creds.api_key is None or creds.api_secret is None:
            message = "Kite login failed: the account needs both an API key and an API secret"
            self.accounts.log_failed_login(account_id, message)
            raise AuthError(message)
        from kiteconnect import KiteConnect
        from kiteconnect import exceptions as kex
        from requests.exceptions import RequestException

        kite = KiteConnect(creds.api_key.reveal(), root=self._root(creds), timeout=self.timeout)
        try:
            data = kite.generate_session(request_token, creds.api_secret.reveal())
        except kex.TokenException as exc:
            message = self._failure_message(exc)
            self.accounts.log_failed_login(account_id, message)
            raise AuthError(message) from None
        except (kex.InputException, kex.PermissionException) as exc:
            message = f"Kite login failed: {str(exc)[:160] or type(exc).__name__}"
            self.accounts.log_failed_login(account_id, message)
            raise AuthError(message) from None
        except (kex.KiteException, RequestException, ValueError, KeyError) as exc:
            message = ("Kite login failed: could not reach Kite or it answered unexpectedly "
                       f"({type(exc).__name__})")
            self.accounts.log_failed_login(account_id, message)
            raise AuthError(message) from None
        finally:
            try:
                kite.reqsession.close()
            except Exception:  # best effort
                pass
        token = (data or {}).get("access_token")
        if not token:
            message = "Kite login failed: the answer carried no access token"
            self.accounts.log_failed_login(account_id, message)
            raise AuthError(message)
        now = self.ctx.clock.now()
        expires_at = lapse_after(_login_time(data.get("login_time"), now))
        if expires_at <= now:  # a stale login_time must not store a dead token
            expires_at = lapse_after(now)
        self.accounts.store_access_token(account_id, token, expires_at,
                                         broker_user_id=data.get("user_id"))
        log.info("Kite login for account %s succeeded; token lapses at %s", account_id,
                 expires_at.isoformat())
        return expires_at

    @staticmethod
    def _failure_message(exc: Exception) -> str:
        text = str(exc).lower()
        if "checksum" in text:
            return ("Kite login failed: invalid checksum - the API secret stored for this "
                    "account does not match the API key; update the secret and log in again")
        if "request token" in text or "request_token" in text or "expired" in text \
                or "invalid" in text:
            return ("Kite login failed: the request token is invalid or expired (they are "
                    "single-use and live a few minutes); open the login URL again")
        return "Kite login failed: Kite refused the session (TokenException)"


__all__ = ["KITE_LOGIN_URL", "KiteSessionExchange", "lapse_after",
           "login_url", "parse_request_token"]
