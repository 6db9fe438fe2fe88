"""Broker accounts of the acting user (ciphertexts only; the vault lives above)."""

from __future__ import annotations

import uuid

from ..models import BrokerAccount, TokenRefreshLog
from .scoped import ScopedRepository


class BrokerAccountRepository(ScopedRepository):
    kind = "broker account"

    def list(self) -> list[BrokerAccount]:
        return list(self.session.exec(
            self._select(BrokerAccount).order_by(BrokerAccount.created_at)).all())

    def get(self, account_id: uuid.UUID | str) -> BrokerAccount:
        return self._owned(BrokerAccount, account_id)

    def add(self, row: BrokerAccount) -> BrokerAccount:
        row.user_id = self.user_id
        self.session.add(row)
        self.session.flush()
        return row

    def delete(self, account_id: uuid.UUID | str) -> None:
        self.session.delete(self.get(account_id))
        self.session.flush()

    def log_refresh(self, row: TokenRefreshLog) -> None:
        row.user_id = self.user_id
        self.session.add(row)
        self.session.flush()
