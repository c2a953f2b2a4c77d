"""Alembic environment. Migrations run as the table owner (MIGRATION_DATABASE_URL) when it
is set; the app itself connects as a role that owns nothing, so RLS applies to it. After
upgrading on PostgreSQL, the app role gets DML rights on tables and sequences."""
import logging
import os
from logging.config import fileConfig
from urllib.parse import urlsplit

from alembic import context
from flask import current_app
from sqlalchemy import create_engine, text

config = context.config
fileConfig(config.config_file_name)
logger = logging.getLogger("alembic.env")
target_db = current_app.extensions["migrate"].db


def _engine():
    url = current_app.config.get("MIGRATION_DATABASE_URL")
    return create_engine(url) if url else target_db.engine


def _app_role() -> str | None:
    role = os.environ.get("APP_DB_ROLE")
    if role:
        return role
    url = current_app.config["SQLALCHEMY_DATABASE_URI"]
    return urlsplit(url).username if url.startswith("postgresql") else None


def _grant(connection) -> None:
    role = _app_role()
    owner = connection.execute(text("SELECT current_user")).scalar_one()
    if not role or role == owner:
        return
    quoted = connection.dialect.identifier_preparer.quote(role)
    connection.execute(text(f"GRANT USAGE ON SCHEMA public TO {quoted}"))
    connection.execute(text(f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {quoted}"))
    connection.execute(text(f"GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO {quoted}"))
    # The audit log is append-only for the app.
    connection.execute(text(f"REVOKE UPDATE, DELETE ON audit_event FROM {quoted}"))


def run_migrations_offline():
    context.configure(url=str(_engine().url), target_metadata=target_db.metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online():
    def process_revision_directives(context_, revision, directives):
        if getattr(config.cmd_opts, "autogenerate", False) and directives[0].upgrade_ops.is_empty():
            directives[:] = []
            logger.info("No changes in schema detected.")

    conf_args = dict(current_app.extensions["migrate"].configure_args)
    conf_args.setdefault("process_revision_directives", process_revision_directives)
    with _engine().connect() as connection:
        context.configure(connection=connection, target_metadata=target_db.metadata, **conf_args)
        with context.begin_transaction():
            context.run_migrations()
            if connection.dialect.name == "postgresql":
                _grant(connection)


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
