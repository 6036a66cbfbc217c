"""Alembic's environment for the store: migrate the connection ``migrate.py`` hands in.

Alembic executes this file while ``TargetStore.open`` migrates; importing it
anywhere else (doctest collection, for one) does nothing. It must never open a
connection of its own: the caller's transaction holds the migration lock.
"""

from __future__ import annotations

from alembic import context

from exporterhub.core.store.schema import metadata


def run_migrations() -> None:
    """Run the pending revisions on the caller's connection, in its transaction."""
    connection = context.config.attributes.get("connection")
    if connection is None:
        raise RuntimeError("run the store's migrations through TargetStore.open")
    context.configure(connection=connection, target_metadata=metadata)
    with context.begin_transaction():
        context.run_migrations()


if hasattr(context, "config"):  # set only while Alembic is running this file
    run_migrations()
