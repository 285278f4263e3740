#!/usr/bin/env bash
# Installs the workspace's npm dependencies when they are missing or stale.
# Safe to run repeatedly: it does nothing when node_modules matches package-lock.json.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
command -v node >/dev/null || { echo "Node.js >= 20.6 is required (apt-get install nodejs npm)" >&2; exit 1; }
major=$(node -p 'process.versions.node.split(".")[0]')
(( major >= 20 )) || { echo "Node.js >= 20.6 is required; found $(node -v)" >&2; exit 1; }
stamp=node_modules/.lantern-lock-stamp
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [[ ! -f $stamp || "$(cat $stamp)" != "$want" ]]; then
  # npm ci on a fresh clone (exactly the lock file); npm install when node_modules exists, because
  # npm ci deletes node_modules first, which would break anything running from this checkout
  if [[ -d node_modules ]]; then
    echo "setup: updating npm dependencies (npm install)" >&2
    npm install --no-audit --no-fund --loglevel=error
  else
    echo "setup: installing npm dependencies (npm ci)" >&2
    npm ci --no-audit --no-fund --loglevel=error
  fi
  echo "$want" >$stamp
fi

# Debian tools the test suite uses: docker-compose validates docker-compose.yml without a Docker
# engine (`docker-compose config`); promtool comes with prometheus, which infra.sh installs.
if ! command -v docker-compose >/dev/null 2>&1; then
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
    echo "setup: installing docker-compose (Debian) to validate docker-compose.yml" >&2
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends docker-compose; } >/dev/null
  else
    echo "setup: docker-compose is missing; install it (apt-get install docker-compose) to validate docker-compose.yml" >&2
  fi
fi

# Headless Chromium for the browser tests of the collector's trace pages (driven by playwright-core,
# which downloads no browser of its own).
if [[ ! -x /usr/lib/chromium/chromium ]]; then
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
    echo "setup: installing chromium (Debian) for the browser tests" >&2
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium; } >/dev/null
  else
    echo "setup: chromium is missing; install it (apt-get install chromium) for the browser tests" >&2
  fi
fi

# amtool (Debian's prometheus-alertmanager) for the tests that prove the alert engine's API works with it.
if ! command -v amtool >/dev/null 2>&1; then
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
    echo "setup: installing prometheus-alertmanager (Debian) for amtool" >&2
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus-alertmanager; } >/dev/null
    # only the amtool binary is wanted: the packaged alertmanager service must not take :9093
    systemctl disable --now prometheus-alertmanager >/dev/null 2>&1 || true
    pkill -x prometheus-alertmanager >/dev/null 2>&1 || true
  else
    echo "setup: amtool is missing; install it (apt-get install prometheus-alertmanager) for the alerting tests" >&2
  fi
fi
