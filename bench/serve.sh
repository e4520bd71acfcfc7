#!/bin/bash
# Issue 6 benchmark: serve. The implementation is serve.py next to this file; see bench/README.md.
# Loopback only; every process it starts is stopped when it ends. Usage: bench/serve.sh
set -euo pipefail
exec python3 "$(dirname "$0")/serve.py" "$@"
