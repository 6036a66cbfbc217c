"""The API's answer when the target store fails: never 500, the cause named.

Found by the fault matrix's store rows (tests/chaos/test_store_faults.py): a
full, read-only or unreachable store made every write answer 500.
"""

from __future__ import annotations

import contextlib
import sqlite3

import orjson
import pytest

from exporterhub.core.api.errors import store_error_response
from exporterhub.core.store import StoreError


def sqlite_failure(pragma: str, statement: str) -> sqlite3.Error:
    """Return the error real SQLite raises for ``statement`` after ``pragma``."""
    with contextlib.closing(sqlite3.connect(":memory:")) as db:
        db.execute("CREATE TABLE t (b BLOB)")
        db.execute(pragma)
        try:
            db.execute(statement)
        except sqlite3.Error as exc:
            return exc
    raise AssertionError("SQLite took the statement")


def failed(cause: BaseException | None) -> StoreError:
    error = StoreError("store at /srv/hub.db: the driver's reason")
    error.__cause__ = cause
    return error


class TestStoreErrorAnswers:
    @pytest.mark.parametrize(
        ("cause", "status", "code"),
        [
            pytest.param(
                lambda: sqlite_failure(
                    "PRAGMA max_page_count = 2",
                    "INSERT INTO t VALUES (zeroblob(100000))",
                ),
                507,
                "store_full",
                id="full",
            ),
            pytest.param(
                lambda: sqlite_failure(
                    "PRAGMA query_only = ON", "INSERT INTO t VALUES (1)"
                ),
                503,
                "store_read_only",
                id="read-only",
            ),
            pytest.param(
                lambda: ConnectionRefusedError(111, "refused"),
                503,
                "store_unavailable",
                id="unreachable",
            ),
            pytest.param(lambda: None, 503, "store_unavailable", id="no-cause"),
        ],
    )
    def test_status_and_code_by_cause(self, cause, status, code):
        """Full is 507, read-only and unreachable 503; each named, with Retry-After."""
        answer = store_error_response(failed(cause()))
        body = orjson.loads(answer.body)
        assert answer.status_code == status
        assert body["error"] == code
        assert "/srv/hub.db" in body["detail"]
        assert int(answer.headers["Retry-After"]) > 0
