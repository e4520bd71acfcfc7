#!/bin/bash
# Issue 6 benchmark: scale. The implementation is scale.py next to this file; see bench/README.md.
# Loopback only; every process it starts is stopped when it ends. Usage: bench/scale.sh
set -euo pipefail
exec python3 "$(dirname "$0")/scale.py" "$@"
