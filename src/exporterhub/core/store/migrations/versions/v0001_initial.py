"""Revision 0001: the targets, target_status and store_meta tables.

Frozen: written out column by column rather than imported from ``schema.py``, so
later schema changes cannot alter what this revision did.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Create the three tables and the single meta row."""
    op.create_table(
        "targets",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String, nullable=False),
        sa.Column("name", sa.String, nullable=False),
        sa.Column("settings", sa.Text, nullable=False),
        sa.Column("enabled", sa.Boolean, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revision", sa.Integer, nullable=False),
        sa.UniqueConstraint("kind", "name", name="uq_targets_kind_name"),
    )
    op.create_table(
        "target_status",
        sa.Column("kind", sa.String, primary_key=True),
        sa.Column("name", sa.String, primary_key=True),
        sa.Column("link", sa.String, nullable=False),
        sa.Column("up", sa.Boolean, nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_error_kind", sa.String, nullable=True),
        sa.Column("last_error", sa.Text, nullable=True),
        sa.Column("last_success", sa.DateTime(timezone=True), nullable=True),
    )
    meta = op.create_table(
        "store_meta",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("changes", sa.BigInteger, nullable=False),
        sa.Column("canary", sa.Text, nullable=True),
    )
    op.bulk_insert(meta, [{"id": 1, "changes": 0, "canary": None}])


def downgrade() -> None:
    """Forward only: a store is never migrated down."""
    raise NotImplementedError("exporterhub store migrations are forward only")
