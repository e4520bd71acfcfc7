#!/bin/bash
# Cluster benchmark (cluster issue): 30,000 sources on three feedloom nodes over a three-server
# NATS JetStream cluster. The implementation is cluster.py next to this file; see bench/README.md.
# Loopback only; every process it starts is stopped when it ends. Usage: bench/cluster.sh
set -euo pipefail
exec python3 "$(dirname "$0")/cluster.py" "$@"
