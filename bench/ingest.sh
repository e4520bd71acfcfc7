#!/bin/bash
# Issue 6 benchmark: ingest. The implementation is ingest.py next to this file; see bench/README.md.
# Loopback only; every process it starts is stopped when it ends. Usage: bench/ingest.sh
set -euo pipefail
exec python3 "$(dirname "$0")/ingest.py" "$@"
