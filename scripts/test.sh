#!/usr/bin/env bash
# The whole test suite, from a fresh clone: install, start infrastructure, typecheck, lint, test.
# Every package's ava suite runs against real PostgreSQL, Redis, Kafka and Prometheus.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export LANTERN_HOME="${LANTERN_HOME:-$HOME/.lantern}"
bash scripts/setup.sh
bash infra/infra.sh up
echo "== typecheck"; npm run typecheck --silent
echo "== lint"; npm run lint --silent
passed=0; failed=0; status=0
for ws in $(node -e 'for (const w of require("./package.json").workspaces) console.log(w)'); do
  for dir in $ws; do
    [[ -f "$dir/package.json" && -d "$dir/test" ]] || continue
    ls "$dir"/test/*.test.ts >/dev/null 2>&1 || continue
    echo "== test $dir"
    out=$(mktemp)
    if (cd "$dir" && npx ava "$@" 2>&1 | tee "$out"); then :; else status=1; fi
    # ava prints "N tests passed" / "N tests failed" (or "1 test ..."); tally them for one closing line
    p=$(grep -Eo '[0-9]+ tests? passed' "$out" | tail -1 | grep -Eo '^[0-9]+' || echo 0)
    f=$(grep -Eo '[0-9]+ tests? failed' "$out" | tail -1 | grep -Eo '^[0-9]+' || echo 0)
    ((p == 0 && f == 0)) && ! grep -q 'passed' "$out" && status=1
    passed=$((passed + p)); failed=$((failed + f)); rm -f "$out"
  done
done
echo "$passed passed, $failed failed"
exit $status
