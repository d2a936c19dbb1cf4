#!/bin/sh
# Temporal's schema on PostgreSQL, with the admin tools' temporal-sql-tool: both stores
# (default and visibility) set up and brought to this release's version. Safe to run again:
# setup-schema -v 0.0 and update-schema do nothing on a current schema.
set -eu
SQL_PASSWORD=$(. /secrets/secrets.env && printf %s "$TEMPORAL_DB_PASSWORD")
export SQL_PASSWORD
for db in temporal temporal_visibility; do
  case $db in
    temporal) dir=/etc/temporal/schema/postgresql/v12/temporal/versioned ;;
    *) dir=/etc/temporal/schema/postgresql/v12/visibility/versioned ;;
  esac
  temporal-sql-tool --plugin postgres12 --ep postgres -p 5432 -u temporal --db "$db" setup-schema -v 0.0
  temporal-sql-tool --plugin postgres12 --ep postgres -p 5432 -u temporal --db "$db" update-schema -d "$dir"
done
echo "Temporal schema current"
