"""Count SQL statements run by a block (for the constant-queries-per-page tests)."""
from contextlib import contextmanager

from sqlalchemy import event


@contextmanager
def count_queries(engine):
    statements = []

    def before(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", before)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", before)
