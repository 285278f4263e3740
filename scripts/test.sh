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
    # one ✔ or ✘ line per test in ava's default reporter; tallied for one closing line
    p=$(grep -cE '^\s+✔' "$out" || true)
    f=$(grep -cE '^\s+✘' "$out" || true)
    ((p + f == 0)) && { echo "no test ran in $dir" >&2; status=1; }
    passed=$((passed + p)); failed=$((failed + f)); rm -f "$out"
  done
done
echo "$passed passed, $failed failed"
exit $status
