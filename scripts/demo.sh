#!/usr/bin/env bash
# The demo: installs dependencies, starts the local infrastructure and shows its state.
# (The shop services join the demo as they land; see README "Demo".)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh
bash infra/infra.sh up
echo
echo "Infrastructure is up. Prometheus: http://127.0.0.1:9090  Kafka: 127.0.0.1:9092"
echo "Stop it with: npm run infra -- down"
