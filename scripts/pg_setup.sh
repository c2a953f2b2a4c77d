#!/usr/bin/env bash
# Create the two PostgreSQL roles and a database for Jianjia (idempotent).
#   owner role: owns the tables, runs migrations (MIGRATION_DATABASE_URL)
#   app role:   what the web and workers connect as (DATABASE_URL): owns nothing,
#               NOSUPERUSER NOBYPASSRLS, so row-level security applies to it.
# Usage: scripts/pg_setup.sh DBNAME [--recreate]   (connects as PGUSER, default postgres)
set -euo pipefail
DB="${1:?database name}"
PSQL=(psql -v ON_ERROR_STOP=1 -h "${PGHOST:-127.0.0.1}" -p "${PGPORT:-5432}" -U "${PGUSER:-postgres}" -d postgres -qAt)
OWNER="${JIANJIA_DB_OWNER:-jianjia_owner}"
APP="${JIANJIA_DB_APP:-jianjia_app}"
"${PSQL[@]}" <<SQL
DO \$\$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '$OWNER') THEN
    CREATE ROLE $OWNER LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEROLE;
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '$APP') THEN
    CREATE ROLE $APP LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEROLE NOCREATEDB;
  END IF;
END \$\$;
SQL
if [[ "${2:-}" == "--recreate" ]]; then
  "${PSQL[@]}" -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)"
fi
if [[ -z "$("${PSQL[@]}" -c "SELECT 1 FROM pg_database WHERE datname = '$DB'")" ]]; then
  "${PSQL[@]}" -c "CREATE DATABASE $DB OWNER $OWNER"
fi
psql -v ON_ERROR_STOP=1 -h "${PGHOST:-127.0.0.1}" -p "${PGPORT:-5432}" -U "${PGUSER:-postgres}" -d "$DB" -qAt \
  -c "REVOKE ALL ON SCHEMA public FROM PUBLIC; ALTER SCHEMA public OWNER TO $OWNER; GRANT USAGE ON SCHEMA public TO $APP;"
echo "DATABASE_URL=postgresql://$APP@${PGHOST:-127.0.0.1}:${PGPORT:-5432}/$DB"
echo "MIGRATION_DATABASE_URL=postgresql://$OWNER@${PGHOST:-127.0.0.1}:${PGPORT:-5432}/$DB"
