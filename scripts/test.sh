#!/usr/bin/env bash
# Install papersift with its test dependencies (server, map, dev extras) into .venv and run the test suite.
# Usage: bash scripts/test.sh [pytest args...]
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null || PYTHON=python3
[ -d .venv ] || "$PYTHON" -m venv .venv
# torch is pinned to the local CPU build; an unpinned torch would pull a multi-GB CUDA build.
.venv/bin/python -m pip install --quiet --disable-pip-version-check \
    "torch==2.13.0" -e ".[server,harvest,map,dev]"

# The browser tests drive Debian's chromium; install it when we are allowed to.
if [ ! -x /usr/bin/chromium ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) \
        >/dev/null 2>&1 || echo "could not install chromium; browser tests will skip" >&2
fi

.venv/bin/ruff check src tests benchmarks
.venv/bin/mypy
.venv/bin/lint-imports --no-cache >/dev/null || .venv/bin/lint-imports --no-cache
exec .venv/bin/python -m pytest "$@"
