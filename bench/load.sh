#!/bin/bash
# Load benchmark (hardening issue): wrk -c256 for 60 s on a 100-item channel while 200 sources
# change every second; errors, latency, peak RSS. Implementation: load.py; see bench/README.md.
set -euo pipefail
exec python3 "$(dirname "$0")/load.py" "$@"
