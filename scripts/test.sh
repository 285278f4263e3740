#!/usr/bin/env bash
# The whole test suite, from a fresh clone: install, start infrastructure, typecheck, lint, test.
# Every package's ava suite runs against real PostgreSQL, Redis, Kafka and Prometheus.
# Workspaces run LANTERN_TEST_JOBS at a time (default 2): most suites wait on Kafka, Postgres and
# timers rather than on the CPU, and every test uses its own schema, topics, groups and key prefixes,
# so suites do not see each other. Each suite's output is printed whole when it ends.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export LANTERN_HOME="${LANTERN_HOME:-$HOME/.lantern}"
bash scripts/setup.sh
bash infra/infra.sh up
echo "== typecheck"; npm run typecheck --silent
echo "== lint"; npm run lint --silent

jobs_max="${LANTERN_TEST_JOBS:-2}"
outdir=$(mktemp -d)
trap 'rm -rf "$outdir"' EXIT

# Suites with a test/ folder, the longest first so the last ones to start are short.
LONGEST_FIRST=(alerting collector shop-services/order shop-services/inventory test)
suites=()
for dir in "${LONGEST_FIRST[@]}"; do [[ -d "$dir/test" ]] && suites+=("$dir"); done
for ws in $(node -e 'for (const w of require("./package.json").workspaces) console.log(w)'); do
  for dir in $ws; do
    [[ -f "$dir/package.json" && -d "$dir/test" ]] || continue
    ls "$dir"/test/*.test.ts >/dev/null 2>&1 || continue
    [[ " ${suites[*]} " == *" $dir "* ]] || suites+=("$dir")
  done
done

run_suite() {   # run_suite DIR OUT: the suite's ava output in OUT, its exit status in OUT.rc
  local dir=$1 out=$2 rc=0
  (cd "$dir" && npx ava "${@:3}") >"$out" 2>&1 || rc=$?
  echo "$rc" >"$out.rc.tmp" && mv "$out.rc.tmp" "$out.rc"
}

passed=0; failed=0; status=0
report() {   # report DIR OUT: print a finished suite and add it to the tally
  local dir=$1 out=$2
  echo "== test $dir"
  cat "$out"
  [[ "$(cat "$out.rc")" == 0 ]] || status=1
  # one ✔ or ✘ line per test in ava's default reporter; tallied for one closing line
  local p f
  p=$(grep -cE '^\s+✔' "$out" || true)
  f=$(grep -cE '^\s+✘' "$out" || true)
  ((p + f == 0)) && { echo "no test ran in $dir" >&2; status=1; }
  passed=$((passed + p)); failed=$((failed + f))
}

declare -A running=()   # pid → suite index
i=0
while ((i < ${#suites[@]})) || ((${#running[@]} > 0)); do
  while ((i < ${#suites[@]})) && ((${#running[@]} < jobs_max)); do
    run_suite "${suites[$i]}" "$outdir/$i" "$@" &
    running[$!]=$i
    i=$((i + 1))
  done
  wait -n || true
  for pid in "${!running[@]}"; do
    idx=${running[$pid]}
    [[ -f "$outdir/$idx.rc" ]] || continue   # written as the suite's last act
    wait "$pid" 2>/dev/null || true
    unset "running[$pid]"
    report "${suites[$idx]}" "$outdir/$idx"
  done
done
echo "$passed passed, $failed failed"
exit $status
