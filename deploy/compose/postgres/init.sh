#!/bin/sh
# Runs once, when the PostgreSQL volume is new (docker-entrypoint-initdb.d): the read model's
# owner and database, and Temporal's user with its two databases (default and visibility
# stores). The passwords come from the environment the compose entrypoint read from secrets.env.
set -eu
: "${LAWLINK_DB_PASSWORD:?from secrets.env}" "${TEMPORAL_DB_PASSWORD:?from secrets.env}"
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
  --set lawlink_pw="$LAWLINK_DB_PASSWORD" --set temporal_pw="$TEMPORAL_DB_PASSWORD" <<'SQL'
CREATE ROLE lawlink LOGIN PASSWORD :'lawlink_pw';
CREATE DATABASE lawlink OWNER lawlink;
CREATE ROLE temporal LOGIN PASSWORD :'temporal_pw';
CREATE DATABASE temporal OWNER temporal;
CREATE DATABASE temporal_visibility OWNER temporal;
SQL
