"""Id allocation for tenant tables.

Primary keys are (district_id, id); neither SQLite nor a distributed PostgreSQL can
autoincrement a column of a composite key, so ids are allocated before flush, in blocks:
PostgreSQL from one sequence per table (``<table>_id_seq``, created by the migrations),
SQLite from the ``id_sequence`` table (an upsert inside the writing transaction).
"""
from sqlalchemy import text


def sequence_name(table: str) -> str:
    return f"{table}_id_seq"


def allocate(connection, table: str, count: int) -> list[int]:
    if count <= 0:
        return []
    if connection.dialect.name == "postgresql":
        rows = connection.execute(
            text("SELECT nextval(CAST(:seq AS regclass)) FROM generate_series(1, :n)"),
            {"seq": sequence_name(table), "n": count},
        )
        return [r[0] for r in rows]
    last = connection.execute(
        text(
            "INSERT INTO id_sequence (name, value) VALUES (:t, :n) "
            "ON CONFLICT(name) DO UPDATE SET value = value + :n RETURNING value"
        ),
        {"t": table, "n": count},
    ).scalar_one()
    return list(range(last - count + 1, last + 1))
