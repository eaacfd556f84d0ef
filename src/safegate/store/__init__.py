"""Storage: SQLAlchemy 2 models, Alembic migrations, small repositories; SQLite or PostgreSQL."""

from safegate.store.db import make_engine, migrate, session_factory, sqlite_url
from safegate.store.errors import StoreError

__all__ = ["StoreError", "make_engine", "migrate", "session_factory", "sqlite_url"]
