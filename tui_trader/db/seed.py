"""Rows every install starts with: the strategy catalog, kept in step with the kinds' own
registry (`domain.catalog`, the one source): a kind added to the code gets its row, and a
row whose name, description, parameter schema or availability differs is brought up to
date at start-up."""

from __future__ import annotations

from sqlmodel import Session, select

from ..domain.catalog import CATALOG
from .models import StrategyCatalog


def seed_catalog(session: Session) -> int:
    """Insert or update each catalog kind's row; returns how many rows changed."""
    rows = {row.kind: row for row in session.exec(select(StrategyCatalog)).all()}
    changed = 0
    for entry in CATALOG:
        values = {"name": entry.name, "description": entry.description,
                  "parameters_schema": entry.parameters_schema(), "is_active": entry.runs}
        row = rows.get(entry.kind)
        if row is None:
            session.add(StrategyCatalog(kind=entry.kind, **values))
            changed += 1
        elif any(getattr(row, key) != value for key, value in values.items()):
            for key, value in values.items():
                setattr(row, key, value)
            changed += 1
    return changed
