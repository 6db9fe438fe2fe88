"""SQL persistence: SQLModel tables, the engine/session factory, migrations runner, repositories."""
