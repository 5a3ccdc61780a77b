"""The database's errors as the core sees them: `bot/` catches these names and never imports
SQLAlchemy itself (tests/test_architecture.py holds that rule)."""

from __future__ import annotations

from sqlalchemy.exc import DBAPIError, IntegrityError, SQLAlchemyError

StorageError = SQLAlchemyError
"""Anything the database or its driver refused or failed to do."""

DuplicateRow = IntegrityError
"""A unique or foreign-key constraint refused the row (another writer was first)."""

# Deadlock, serialization failure and unique violation: the transaction lost a race with a
# concurrent writer, and running it once more sees the other's rows.
_COLLISIONS = frozenset({"40001", "40P01", "23505"})


def collision_state(exc: BaseException) -> str | None:
    """The SQLSTATE when `exc` is a write that collided with another transaction (worth one
    retry), else None."""
    if not isinstance(exc, DBAPIError):
        return None
    state = getattr(exc.orig, "sqlstate", None)
    return state if state in _COLLISIONS else None
