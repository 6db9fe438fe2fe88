"""A user's notification channels and alert preferences.

A channel (Telegram, e-mail, webhook) is checked field by field, test-delivered before it is
saved (an unreachable one is refused, nothing saved), and stored as one vault ciphertext of
its whole configuration, bound to its row like a broker key; only a `hint` without secrets is
kept in the clear. Preferences are one mode per alert kind (domain.alerts). For delivery,
`channel_targets` opens the channels as apprise URLs held in `Secret`s (every secret part
registered with the log redactor), and `record_delivery` keeps how each channel is doing.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

import sqlalchemy as sa
from sqlmodel import select

from ..db.credential_fence import hold_for_write
from ..db.models import NotificationChannel, NotificationPreference
from ..db.row_security import act_for
from ..domain import validation as v
from ..domain.alerts import DEFAULT_MODES, AlertKind, AlertMode, ChannelKind
from ..domain.audit import AuditAction
from ..domain.errors import NotFoundError, ValidationError
from ..security.redaction import register_secret
from ..security.secret import Secret
from .audit import record_audit
from .context import AppContext

# Connect and read timeouts (seconds) of one delivery: a dead channel costs its own lane
# this long per attempt, nobody else anything.
CONNECT_TIMEOUT = 4
READ_TIMEOUT = 8
SMTP_MODES = ("starttls", "ssl", "insecure")
_BOT_TOKEN = re.compile(r"^[0-9]{3,15}:[A-Za-z0-9_-]{20,100}$")
_CHAT_ID = re.compile(r"^(-?[0-9]{1,20}|@[A-Za-z][A-Za-z0-9_]{3,40})$")
_HOST = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9-]{0,62}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]"
                   r"{0,62}[A-Za-z0-9])?)*$")

Sender = Callable[[Secret, str, str], "str | None"]


def _context(channel_id: uuid.UUID) -> str:
    return f"notification_channels:{channel_id}:target_enc"


@dataclass(frozen=True)
class ChannelView:
    id: uuid.UUID
    kind: ChannelKind
    label: str
    hint: str
    is_active: bool
    failures: int
    last_error: str | None
    last_attempt_at: datetime | None
    last_success_at: datetime | None

    @property
    def state(self) -> str:
        """'ok', 'failing' (the last delivery failed; it is retried) or 'untried'."""
        if self.failures:
            return "failing"
        return "ok" if self.last_success_at is not None else "untried"


@dataclass(frozen=True)
class ChannelTarget:
    """An opened channel, ready to deliver to. Its secrets are registered with the log
    redactor for as long as it lives."""

    channel_id: uuid.UUID
    user_id: uuid.UUID
    label: str
    url: Secret
    parts: tuple[Secret, ...] = ()

    def __repr__(self) -> str:
        return f"ChannelTarget(label={self.label!r}, url=Secret('********'))"


def _view(row: NotificationChannel) -> ChannelView:
    return ChannelView(id=row.id, kind=row.kind, label=row.label, hint=row.hint,
                       is_active=row.is_active, failures=row.failures,
                       last_error=row.last_error, last_attempt_at=row.last_attempt_at,
                       last_success_at=row.last_success_at)


# -- one channel's configuration, checked ------------------------------------------------

def _host(field: str, value: str | None) -> str:
    host = v.clean_text(field, value, max_len=253)
    if not _HOST.match(host):
        raise ValidationError(field, "must be a host name or address, e.g. smtp.example.com")
    return host


def _port(field: str, value: str | int | None) -> int:
    text = str(value if value is not None else "").strip()
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise ValidationError(field, "must be a number from 1 to 65535")
    return int(text)


def _address(field: str, value: str | None) -> str:
    text = v.clean_text(field, value, max_len=254).lower()
    if not v.EMAIL_RE.match(text):
        raise ValidationError(field, "must be a valid address like name@example.com")
    return text


def webhook_config(url: str | None) -> tuple[dict[str, str], str]:
    """(configuration, hint) of a webhook: an http(s) URL; its path and query may hold a
    token, so the hint is the host alone."""
    text = v.clean_text("webhook_url", url, max_len=1000)
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationError("webhook_url", "must be an http:// or https:// URL with a host, "
                                             "e.g. https://hooks.example.com/alerts")
    try:
        parts.port  # noqa: B018 - raises for a port that is not a number in range
    except ValueError:
        raise ValidationError("webhook_url", "the port must be a number from 1 to 65535") \
            from None
    if any(ch.isspace() for ch in text):
        raise ValidationError("webhook_url", "must not contain spaces")
    return {"url": text}, f"{parts.scheme}://{parts.hostname}{':' if parts.port else ''}" \
                          f"{parts.port or ''}/…"


def email_config(to: str | None, smtp_host: str | None, smtp_port: str | int | None,
                 smtp_mode: str | None, smtp_user: str | None, smtp_password: str | None,
                 sender: str | None = None) -> tuple[dict[str, str], str]:
    address = _address("email_to", to)
    host = _host("smtp_host", smtp_host)
    mode = (smtp_mode or "starttls").strip().lower()
    if mode not in SMTP_MODES:
        raise ValidationError("smtp_mode", "must be starttls, ssl or insecure")
    port = _port("smtp_port", smtp_port if smtp_port not in (None, "") else
                 {"starttls": 587, "ssl": 465, "insecure": 25}[mode])
    user = v.clean_text("smtp_user", smtp_user, max_len=254, required=False)
    password = smtp_password or ""
    if user and not password.strip():
        raise ValidationError("smtp_password", "is required with an SMTP user")
    if v.has_control(password) or len(password) > 512:
        raise ValidationError("smtp_password", "must be at most 512 characters, without "
                                               "control characters")
    frm = _address("email_from", sender) if sender else \
        (user.lower() if v.EMAIL_RE.match(user.lower()) else f"tui-trader@{host}")
    config = {"to": address, "from": frm, "host": host, "port": str(port), "mode": mode,
              "user": user, "password": password}
    return config, f"{address} via {host}:{port}"


def telegram_config(chat_id: str | None, bot_token: str | None) -> tuple[dict[str, str], str]:
    chat = v.clean_text("chat_id", chat_id, max_len=45)
    if not _CHAT_ID.match(chat):
        raise ValidationError("chat_id", "must be a number (e.g. -1001234567890) or @name")
    token = (bot_token or "").strip()
    if not token:
        raise ValidationError("bot_token", "is required")
    if not _BOT_TOKEN.match(token):
        raise ValidationError("bot_token", "must look like 123456789:AA... (as BotFather "
                                           "gives it)")
    return {"chat_id": chat, "token": token}, f"Telegram chat {chat}"


_SECRET_PARTS = {ChannelKind.WEBHOOK: ("url",), ChannelKind.EMAIL: ("password",),
                 ChannelKind.TELEGRAM: ("token",)}


def apprise_url(kind: ChannelKind, config: Mapping[str, str]) -> str:
    """The apprise URL of a checked configuration (values quoted; timeouts set)."""
    timeouts = {"cto": str(CONNECT_TIMEOUT), "rto": str(READ_TIMEOUT)}
    if kind is ChannelKind.WEBHOOK:
        parts = urlsplit(config["url"])
        scheme = "jsons" if parts.scheme == "https" else "json"
        auth = ""
        if parts.username is not None:
            auth = quote(parts.username, safe="")
            if parts.password is not None:
                auth += ":" + quote(parts.password, safe="")
            auth += "@"
        host = parts.hostname or ""
        if ":" in host:
            host = f"[{host}]"
        port = f":{parts.port}" if parts.port else ""
        # apprise passes `-name=value` on as the webhook's own query parameters
        query = [("-" + k, val) for k, val in parse_qsl(parts.query, keep_blank_values=True)]
        query += list(timeouts.items())
        return f"{scheme}://{auth}{host}{port}{parts.path or '/'}?{urlencode(query)}"
    if kind is ChannelKind.EMAIL:
        auth = ""
        if config.get("user"):
            auth = f"{quote(config['user'], safe='')}:{quote(config['password'], safe='')}@"
        query = {"smtp": config["host"], "from": config["from"], "to": config["to"],
                 "mode": config["mode"], **timeouts}
        return f"mailto://{auth}{config['host']}:{config['port']}?{urlencode(query)}"
    if kind is ChannelKind.TELEGRAM:
        return (f"tgram://{quote(config['token'], safe=':')}/{quote(config['chat_id'], safe='@-')}"
                f"?{urlencode(timeouts)}")
    raise ValidationError("channel_kind", "must be telegram, email or webhook")


def _secret_parts(kind: ChannelKind, config: Mapping[str, str]) -> list[str]:
    """Every piece of a configuration a log line might quote alone: a webhook's URL, path,
    long path segments, query values and password (raw and URL-quoted); an SMTP password;
    a bot token."""
    values = [config[name] for name in _SECRET_PARTS[kind] if config.get(name)]
    if kind is ChannelKind.WEBHOOK:
        parts = urlsplit(config["url"])
        values += [parts.path] if len(parts.path) > 1 else []
        values += [seg for seg in parts.path.split("/") if len(seg) >= 8]
        values += [val for _k, val in parse_qsl(parts.query, keep_blank_values=True)]
        values += [parts.password] if parts.password else []
    return values + [quote(val, safe="") for val in values]


def _opened(kind: ChannelKind, config: Mapping[str, str]) -> tuple[Secret, tuple[Secret, ...]]:
    """The URL and the secret parts as registered Secrets (masked in every log record)."""
    parts = tuple(Secret(value) for value in dict.fromkeys(_secret_parts(kind, config)))
    url = Secret(apprise_url(kind, config))
    for secret in (url, *parts):
        register_secret(secret)
    return url, parts


def _check_loadable(field: str, url: Secret) -> None:
    import apprise

    if not apprise.Apprise().add(url.reveal()):
        raise ValidationError(field, "is not a channel address apprise can use")


FIELD_OF = {ChannelKind.WEBHOOK: "webhook_url", ChannelKind.EMAIL: "smtp_host",
            ChannelKind.TELEGRAM: "bot_token"}


def parse_channel_kind(value: str | None) -> ChannelKind:
    try:
        return ChannelKind((value or "").strip().upper())
    except ValueError:
        raise ValidationError("channel_kind", "must be telegram, email or webhook") from None


# -- the use cases -----------------------------------------------------------------------

class NotificationSettings:
    """One user's channels and preferences. `sender` delivers one message to one URL and
    returns None or the reason it failed (services.notify_delivery.send_now)."""

    def __init__(self, ctx: AppContext, user_id: uuid.UUID, sender: Sender | None = None
                 ) -> None:
        self.ctx = ctx
        self.user_id = user_id
        if sender is None:
            from .notify_delivery import send_now

            sender = send_now
        self._send = sender

    def list(self) -> list[ChannelView]:
        with self.ctx.session() as s:
            act_for(s, self.user_id)
            rows = s.exec(select(NotificationChannel).where(
                NotificationChannel.user_id == self.user_id).order_by(
                NotificationChannel.label)).all()
            return [_view(r) for r in rows]

    def add(self, kind: ChannelKind, label: str | None, config: dict[str, str], hint: str,
            *, test: bool = True) -> ChannelView:
        """Save a checked channel (`*_config` above). With `test`, a test message must
        reach it first: an unreachable channel is refused naming its field, nothing saved."""
        name = v.clean_text("label", label or kind.value.title(), max_len=60)
        url, parts = _opened(kind, config)
        _check_loadable(FIELD_OF[kind], url)
        with self.ctx.session() as s:
            act_for(s, self.user_id)
            taken = s.exec(select(NotificationChannel.id).where(
                NotificationChannel.user_id == self.user_id,
                NotificationChannel.label == name)).first()
        if taken is not None:
            raise ValidationError("label", f"'{name}' is already used by another channel")
        if test:
            problem = self._send(url, "tui-trader: channel added",
                                 f"Alerts will reach you here ('{name}').")
            if problem:
                raise ValidationError(FIELD_OF[kind], f"a test message could not be "
                                                      f"delivered ({problem}); nothing saved")
        now = self.ctx.clock.now()
        with self.ctx.session() as s:
            hold_for_write(s)  # sealed under a key no rotation is about to retire
            act_for(s, self.user_id)
            row = NotificationChannel(user_id=self.user_id, kind=kind, label=name,
                                      target_enc="v1:", key_id="", hint=hint[:120],
                                      last_attempt_at=now if test else None,
                                      last_success_at=now if test else None)
            sealed = self.ctx.vault.encrypt(json.dumps(config), context=_context(row.id))
            row.target_enc, row.key_id = sealed.ciphertext, sealed.key_id
            s.add(row)
            s.flush()
            view = _view(row)
        del url, parts
        record_audit(self.ctx, AuditAction.CHANNEL_ADDED, user_id=self.user_id,
                     subject=name, details={"kind": kind.value})
        return view

    def remove(self, label: str) -> None:
        with self.ctx.session() as s:
            act_for(s, self.user_id)
            row = self._row(s, label)
            s.delete(row)
        record_audit(self.ctx, AuditAction.CHANNEL_REMOVED, user_id=self.user_id,
                     subject=label)

    def test(self, label: str | None = None) -> list[tuple[str, str | None]]:
        """Send a test message to one channel (or every one) now: [(label, problem)]."""
        targets = channel_targets(self.ctx, self.user_id)
        if label is not None:
            targets = [t for t in targets if t.label == label]
            if not targets:
                raise NotFoundError("channel", label)
        out = []
        for target in targets:
            problem = self._send(target.url, "tui-trader: test",
                                 f"A test message to '{target.label}'.")
            record_delivery(self.ctx, target.channel_id, problem, self.ctx.clock.now())
            out.append((target.label, problem))
        return out

    def _row(self, s, label: str) -> NotificationChannel:
        row = s.exec(select(NotificationChannel).where(
            NotificationChannel.user_id == self.user_id,
            NotificationChannel.label == label)).first()
        if row is None:
            raise NotFoundError("channel", label)
        return row

    # -- preferences ---------------------------------------------------------------------
    def preferences(self) -> dict[AlertKind, AlertMode]:
        return alert_modes(self.ctx, self.user_id)

    def set_preferences(self, changes: Mapping[AlertKind, AlertMode]) -> dict[AlertKind,
                                                                              AlertMode]:
        with self.ctx.session() as s:
            act_for(s, self.user_id)
            rows = {r.kind: r for r in s.exec(select(NotificationPreference).where(
                NotificationPreference.user_id == self.user_id)).all()}
            for kind, mode in changes.items():
                row = rows.get(kind)
                if row is None:
                    s.add(NotificationPreference(user_id=self.user_id, kind=kind, mode=mode))
                else:
                    row.mode = mode
        return self.preferences()


def alert_modes(ctx: AppContext, user_id: uuid.UUID) -> dict[AlertKind, AlertMode]:
    """The user's mode for every alert kind (the default where none is set)."""
    with ctx.session() as s:
        act_for(s, user_id)
        stored = {r.kind: r.mode for r in s.exec(select(NotificationPreference).where(
            NotificationPreference.user_id == user_id)).all()}
    return {kind: stored.get(kind, DEFAULT_MODES[kind]) for kind in AlertKind}


def channel_targets(ctx: AppContext, user_id: uuid.UUID) -> list[ChannelTarget]:
    """The user's active channels, opened. A channel that cannot be opened (its master key
    retired, its ciphertext damaged) is recorded as failing and left out."""
    with ctx.session() as s:
        act_for(s, user_id)
        rows = list(s.exec(select(NotificationChannel).where(
            NotificationChannel.user_id == user_id,
            NotificationChannel.is_active.is_(True))).all())  # type: ignore[attr-defined]
    out = []
    for row in rows:
        try:
            config = json.loads(ctx.vault.decrypt(row.target_enc, row.key_id,
                                                  context=_context(row.id)).reveal())
            url, parts = _opened(row.kind, config)
        except Exception as exc:
            record_delivery(ctx, row.id, f"cannot be opened ({type(exc).__name__})",
                            ctx.clock.now())
            continue
        out.append(ChannelTarget(channel_id=row.id, user_id=user_id, label=row.label,
                                 url=url, parts=parts))
    return out


def users_with_channels(ctx: AppContext) -> list[uuid.UUID]:
    with ctx.db.connect() as conn:
        table = NotificationChannel.__table__
        return list(conn.execute(sa.select(table.c.user_id).where(
            table.c.is_active.is_(True)).distinct()).scalars())


def record_delivery(ctx: AppContext, channel_id: uuid.UUID, problem: str | None,
                    now: datetime) -> None:
    """How the latest delivery to a channel went: failures counted until one succeeds."""
    table = NotificationChannel.__table__
    values: dict = {"last_attempt_at": now, "updated_at": now}
    if problem is None:
        values.update(failures=0, last_error=None, last_success_at=now)
    else:
        values.update(failures=table.c.failures + 1, last_error=problem[:300])
    with ctx.db.begin() as conn:
        conn.execute(table.update().where(table.c.id == channel_id).values(**values))


# -- master-key rotation ------------------------------------------------------------------

def stored_channel_fields(s):
    """Every channel ciphertext as stored now, for rotation (services.brokers)."""
    from ..db.models import User
    from ..security.rotation import EncryptedField

    channels, users = NotificationChannel.__table__, User.__table__
    rows = s.connection().execute(
        sa.select(channels, users.c.email.label("owner"))
        .join(users, users.c.id == channels.c.user_id)).mappings().all()
    return [EncryptedField(row_id=r["id"], column="target_enc", ciphertext=r["target_enc"],
                           key_id=r["key_id"], context=_context(r["id"]),
                           label=f"channel '{r['label']}' of {r['owner']}") for r in rows]
