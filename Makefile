# Every target runs an npm script, so `npm run ...` works the same without make.

## help: print this help message
.PHONY: help
help:
	@echo 'Usage:'
	@sed -n 's/^## //p' $(MAKEFILE_LIST) | column -t -s ':' | sed -e 's/^/  /'

.PHONY: confirm
# CONFIRM=yes answers for a deploy script, which has no terminal to ask on.
confirm:
	@if [ "$(CONFIRM)" = yes ]; then exit 0; fi; \
	if [ -t 0 ]; then printf 'Are you sure? [y/N] ' && read ans && [ "$${ans:-N}" = y ]; \
	else echo 'confirm: no terminal to ask; run with CONFIRM=yes to go ahead' >&2; exit 1; fi

## run/api: run the API (embedded database unless DATABASE_URL is set)
.PHONY: run/api
run/api:
	npm start

## db/psql: connect to DATABASE_URL with psql
.PHONY: db/psql
db/psql:
	npm run db:psql

## db/migrations/new name=$1: create a new pair of migration files
.PHONY: db/migrations/new
db/migrations/new:
	@test -n "$(name)" || { echo 'usage: make db/migrations/new name=add-something' >&2; exit 2; }
	npm run migrate -- new $(name)

## db/migrations/up: apply all up database migrations (CONFIRM=yes to skip the question)
.PHONY: db/migrations/up
db/migrations/up: confirm
	npm run migrate -- up --yes

## db/migrations/down: revert the last database migration (CONFIRM=yes to skip the question)
.PHONY: db/migrations/down
db/migrations/down: confirm
	npm run migrate -- down --yes

## db/migrations/status: show the applied version and pending migrations
.PHONY: db/migrations/status
db/migrations/status:
	npm run migrate -- status

## creatives/backfill: give older creatives variants, dimensions and a placeholder, and strip their metadata (resumable)
.PHONY: creatives/backfill
creatives/backfill:
	npm run creatives:backfill

## test: run the tests (PostgreSQL/Redis too when TEST_DATABASE_URL/TEST_REDIS_URL are set)
.PHONY: test
test:
	npm test

## audit: format check, lint, type-check and tests
.PHONY: audit
audit:
	npm run audit

## build/api: bundle src/ into dist/main.js (what npm start runs)
.PHONY: build/api
build/api:
	npm run build
