"""SQLite files as the original snp-exporter wrote them, for the migration tests.

The schema is the original's (``snp_connections`` with plain-text passwords and
``objects_ids`` as JSON text, ``connection_status`` beside it), filled the way its
code did: rows inserted one by one (``AUTOINCREMENT`` ids), some deleted again so
the ids have gaps, statuses left behind for deleted rows (the original never
turned foreign keys on).
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE snp_connections (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT UNIQUE NOT NULL,
    restapi TEXT NOT NULL,
    websocket TEXT NOT NULL,
    username TEXT NOT NULL,
    password TEXT NOT NULL,
    objects_ids TEXT NOT NULL,
    enabled INTEGER DEFAULT 1,
    created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    updated_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP
);
CREATE TABLE connection_status (
    connection_id INTEGER PRIMARY KEY,
    status TEXT NOT NULL,
    last_update TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    FOREIGN KEY (connection_id) REFERENCES snp_connections(id) ON DELETE CASCADE
);
"""

OBJECTS = [
    {"elementIP": "127.0.0.1", "objectType": "ptp"},
    {"elementIP": "127.0.0.1", "objectType": "system"},
    {"elementIP": "127.0.0.1", "objectType": "procChannelHD", "objectId": "A-HD-1"},
]


def password(number: int) -> str:
    """A password distinctive enough to search a file's bytes for."""
    return f"Orig-Plain-{number}-q7Zx!"


def connection(number: int, *, rest: str = "", ws: str = "", **extra: Any) -> dict:
    """One connection record as the original's API took it."""
    return {
        "name": f"SNP-{number}",
        "restapi": rest or f"https://192.0.2.{number}:9089/api/auth",
        "websocket": ws or f"wss://192.0.2.{number}/smm",
        "username": "admin",
        "password": password(number),
        "objects_ids": OBJECTS,
        "enabled": True,
        **extra,
    }


def write_original(
    path: Path,
    records: list[dict],
    *,
    deleted_before: int = 2,
    statuses: dict[str, str] | None = None,
) -> dict[str, int]:
    """Write an original database; return each connection's id by name.

    ``deleted_before`` rows are inserted and deleted first, so the ids of
    ``records`` start above 1 as in a database that has been used.
    """
    with contextlib.closing(sqlite3.connect(path)) as conn:
        conn.executescript(SCHEMA)
        for n in range(deleted_before):
            conn.execute(
                "INSERT INTO snp_connections (name, restapi, websocket, username, "
                "password, objects_ids) VALUES (?, 'x', 'x', 'x', 'x', '[]')",
                (f"gone-{n}",),
            )
            conn.execute(
                "INSERT INTO connection_status (connection_id, status) "
                "VALUES (last_insert_rowid(), 'error')"
            )
        conn.execute("DELETE FROM snp_connections WHERE name LIKE 'gone-%'")
        ids = {}
        for record in records:
            objects = record["objects_ids"]
            cursor = conn.execute(
                "INSERT INTO snp_connections (name, restapi, websocket, username, "
                "password, objects_ids, enabled, created_at, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, '2026-02-03 20:31:19', "
                "'2026-02-04 17:02:57')",
                (
                    record["name"],
                    record["restapi"],
                    record["websocket"],
                    record["username"],
                    record["password"],
                    objects if isinstance(objects, str) else json.dumps(objects),
                    int(record.get("enabled", True)),
                ),
            )
            ids[record["name"]] = int(cursor.lastrowid or 0)
        for name, status in (statuses or {}).items():
            conn.execute(
                "INSERT OR REPLACE INTO connection_status "
                "(connection_id, status, last_update) "
                "VALUES (?, ?, '2026-02-09 09:18:42')",
                (ids[name], status),
            )
        conn.commit()
    return ids


def file_bytes(path: Path) -> bytes:
    """Return a SQLite file's bytes with its WAL, if it has one."""
    wal = Path(f"{path}-wal")
    return path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")
