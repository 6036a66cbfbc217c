"""Alembic migrations of the target store, run by ``TargetStore.open``; no logic."""
