#!/usr/bin/env bash
# `npm run bench:setup`: what `npm run bench` needs beyond `npm ci`, from the system's packages.
# Redis for the BullMQ baseline (the harness starts a private one if none is running); PostgreSQL
# for the `postgres` scenario is optional (skipped when unreachable, see docs/benchmarks.md).
set -euo pipefail
if command -v redis-server >/dev/null 2>&1; then
  echo "redis-server: $(redis-server --version | head -n1)"
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "redis-server is missing and this is not a Debian/Ubuntu system: install Redis (>= 6) with your package manager" >&2
  exit 1
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
$SUDO apt-get update -q
$SUDO apt-get install -y -q redis-server
redis-server --version
