"""Log redaction: a logging filter that masks known secret values in log records.

Defence in depth only -- callers still must not log secrets. This catches the leaks nobody
wrote on purpose: a broker SDK logging a request URL with the access token in it, an
exception message echoing an api key, a `%r` of a dict that holds a revealed value.

Registering a `Secret` is weak (it drops out when the Secret is garbage-collected); a plain
`str` cannot be weakly referenced in Python, so registering one is strong until
`unregister_secret` (e.g. when a broker session ends). Values shorter than 4 characters are
ignored: masking them would shred ordinary log text and they are not credentials anyway.
"""

from __future__ import annotations

import logging
import threading
import weakref

from tui_trader.security.secret import MASK, Secret

MIN_SECRET_LENGTH = 4

_plain_formatter = logging.Formatter()


class SecretRegistry:
    """The set of values to mask: live `Secret`s (weakly) and registered strings."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._strings: set[str] = set()
        # Keyed by id(), not by the Secret: equal Secrets would share one entry and the
        # survivor would go unmasked once the first was collected.
        self._secrets: weakref.WeakValueDictionary[int, Secret] = weakref.WeakValueDictionary()

    def register(self, value: str | Secret) -> bool:
        """Start masking `value`; False (and nothing registered) when it is too short."""
        plain = value.reveal() if isinstance(value, Secret) else value
        if not isinstance(plain, str) or len(plain) < MIN_SECRET_LENGTH:
            return False
        with self._lock:
            if isinstance(value, Secret):
                self._secrets[id(value)] = value
            else:
                self._strings.add(plain)
        return True

    def unregister(self, value: str | Secret) -> None:
        with self._lock:
            if isinstance(value, Secret):
                self._secrets.pop(id(value), None)
            else:
                self._strings.discard(value)

    def clear(self) -> None:
        with self._lock:
            self._strings.clear()
            self._secrets.clear()

    def values(self) -> list[str]:
        """Every value to mask, longest first (so a secret containing another is fully hidden)."""
        with self._lock:
            found = set(self._strings)
            found.update(secret.reveal() for secret in list(self._secrets.values()))
        return sorted(found, key=len, reverse=True)


default_registry = SecretRegistry()


def register_secret(value: str | Secret, registry: SecretRegistry | None = None) -> bool:
    """Mask `value` in every log record that passes a `SecretRedactor`."""
    return (registry or default_registry).register(value)


def unregister_secret(value: str | Secret, registry: SecretRegistry | None = None) -> None:
    (registry or default_registry).unregister(value)


def redact(text: str, values: list[str] | None = None) -> str:
    """`text` with every registered (or given) secret value replaced by the mask."""
    for value in default_registry.values() if values is None else values:
        if value in text:
            text = text.replace(value, MASK)
    return text


class SecretRedactor(logging.Filter):
    """Rewrites a record's message, exception text and stack text when they hold a secret.

    Records without a secret are left untouched (msg and args intact for other filters).
    It never drops a record.
    """

    def __init__(self, registry: SecretRegistry | None = None) -> None:
        super().__init__()
        self.registry = registry or default_registry

    def filter(self, record: logging.LogRecord) -> bool:
        values = self.registry.values()
        if values:
            self._scrub(record, values)
        return True

    @staticmethod
    def _scrub(record: logging.LogRecord, values: list[str]) -> None:
        try:
            message = record.getMessage()
        except Exception:
            # Arguments that do not fit the format: logging would later print msg and args
            # raw in its error report. Render both here, masked, as an ordinary message.
            message = f"{record.msg!s} (unformattable log arguments: {record.args!r})"
            record.msg, record.args = redact(message, values), None
        else:
            cleaned = redact(message, values)
            if cleaned != message:
                record.msg, record.args = cleaned, None
        if record.exc_info and record.exc_info[0] is not None and not record.exc_text:
            # Formatters cache the traceback text in exc_text; filling it in (masked) here
            # is the only way to reach it before a handler formats it. Left unset when there
            # is nothing to mask, so custom formatException implementations still apply.
            text = _plain_formatter.formatException(record.exc_info)
            cleaned = redact(text, values)
            if cleaned != text:
                record.exc_text = cleaned
        elif record.exc_text:
            record.exc_text = redact(record.exc_text, values)
        if record.stack_info:
            record.stack_info = redact(record.stack_info, values)


default_redactor = SecretRedactor()


def install_redaction(logger: logging.Logger | None = None,
                      redactor: SecretRedactor | None = None) -> SecretRedactor:
    """Attach the redactor to `logger` (default: root) and to each of its handlers.

    A logger's own filters do not see records propagated from child loggers; its handlers'
    filters do. So the handlers are what matters for the root logger -- call this after
    logging is configured (it is idempotent), and add the filter to any handler created later.
    """
    target = logger if logger is not None else logging.getLogger()
    active = redactor if redactor is not None else default_redactor
    if active not in target.filters:
        target.addFilter(active)
    for handler in target.handlers:
        if active not in handler.filters:
            handler.addFilter(active)
    return active


def uninstall_redaction(logger: logging.Logger | None = None,
                        redactor: SecretRedactor | None = None) -> None:
    target = logger if logger is not None else logging.getLogger()
    active = redactor if redactor is not None else default_redactor
    target.removeFilter(active)
    for handler in target.handlers:
        handler.removeFilter(active)
