#!/usr/bin/env bash
# npm run bench -- NAME   runs bench/NAME.ts, prints a table and writes bench/results/NAME.json
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
name="${1:-}"
if [[ -z "$name" || ! -f "bench/$name.ts" ]]; then
  echo "usage: npm run bench -- NAME   (one of: $(ls bench/*.ts | xargs -n1 basename | sed 's/\.ts$//' | grep -v '^lib$' | tr '\n' ' '))" >&2
  exit 2
fi
shift
bash scripts/setup.sh
bash infra/infra.sh up >/dev/null
exec node --import tsx/esm "bench/$name.ts" "$@"
