#!/usr/bin/env bash
# Optional extras for `npm run bench`: the C ceilings (pgbench; a libpq program
# built at bench time), psql (\copy), pg-native and pg-copy-streams.
#
#   sudo bash scripts/bench-setup.sh     (Debian/Ubuntu; run from anywhere)
#
# Idempotent: installs only what is missing. The harness works without it and
# says what it skipped. pgbench comes with the postgresql-15 package
# (/usr/lib/postgresql/15/bin/pgbench; postgresql-client adds the /usr/bin
# wrapper); libpq-dev is what pg-native's build (node-gyp) compiles against.
# The npm extras are installed with --no-save, so package.json and package-lock.json
# stay as they are (a later `npm install`/`npm ci` removes them again).
set -euo pipefail

cd "$(dirname "$0")/.."

if [ "$(id -u)" -ne 0 ]; then
  echo "bench-setup: run as root (apt-get install needs it)" >&2
  exit 1
fi

want=(postgresql-client postgresql-15 libpq-dev)
missing=()
for p in "${want[@]}"; do
  # postgresql-client is a metapackage; an installed postgresql-client-NN is as good.
  if [ "$p" = postgresql-client ] && dpkg-query -W -f='${Status}\n' 'postgresql-client-*' 2>/dev/null | grep -q 'install ok installed'; then
    continue
  fi
  if ! dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -gt 0 ]; then
  echo "bench-setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update
  apt-get install -y --no-install-recommends "${missing[@]}"
else
  echo "bench-setup: ${want[*]} already installed"
fi

pgbench=$(command -v pgbench || ls -1 /usr/lib/postgresql/*/bin/pgbench 2>/dev/null | sort -V | tail -n 1 || true)
if [ -n "$pgbench" ]; then
  echo "bench-setup: pgbench: $pgbench ($("$pgbench" --version))"
else
  echo "bench-setup: pgbench still not found" >&2
fi

# The npm extras, installed with --no-save: pg-native (libpq bindings, built
# with node-gyp: needs python3, make and a C++ compiler) and pg-copy-streams
# (pg's COPY streams, plain JS). They go in one `npm install`, always both:
# npm prunes packages that are in neither package.json nor the command, so a
# second --no-save install would remove the first.
importable() { node -e "import('$1').then(() => process.exit(0), () => process.exit(1))" 2>/dev/null; }
extras=(pg-native pg-copy-streams)
need=0
for m in "${extras[@]}"; do
  if importable "$m"; then echo "bench-setup: $m already importable"; else need=1; fi
done
if [ "$need" -eq 1 ]; then
  if ! importable pg-native; then
    for tool in python3 make g++; do
      command -v "$tool" >/dev/null || { echo "bench-setup: $tool is missing (pg-native's build needs it): apt-get install -y build-essential python3" >&2; exit 1; }
    done
  fi
  echo "bench-setup: npm install --no-save ${extras[*]}"
  npm install --no-save --no-audit --no-fund "${extras[@]}"
  for m in "${extras[@]}"; do
    if importable "$m"; then echo "bench-setup: $m importable"; else echo "bench-setup: $m still fails to load" >&2; exit 1; fi
  done
fi

# psql (postgresql-client, above) is the \copy reference of the copy-in and
# copy-out workloads; libpq-dev's headers and cc build bench/ceiling/wide.c,
# the wide-read C ceiling, at bench time.
