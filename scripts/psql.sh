#!/usr/bin/env sh
# Opens psql on DATABASE_URL (from the environment or .env). The embedded database has no socket
# for psql to reach; use `npm run migrate -- status` there.
set -e
if [ -z "${DATABASE_URL:-}" ] && [ -f .env ]; then
  DATABASE_URL=$(sed -n 's/^DATABASE_URL=//p' .env | tail -n 1 | tr -d "\"'")
fi
if [ -z "${DATABASE_URL:-}" ]; then
  echo "db/psql: DATABASE_URL is not set (the embedded database in DATA_DIR cannot be reached by psql)" >&2
  exit 1
fi
exec psql "$DATABASE_URL"
