#!/usr/bin/env bash
# Reads wrangler.toml on stdin and prints the Durable Object migration tags of one environment, in order, one a line.
# Usage: scripts/ci/migration-tags.sh <environment> < wrangler.toml   ("" for the top level)
set -euo pipefail
environment="${1-}"
if [ -n "$environment" ]; then header="[[env.$environment.migrations]]"; else header="[[migrations]]"; fi
awk -v header="$header" '
  $0 == header { inside = 1; next }
  /^\[/ { inside = 0 }
  inside && /^tag *=/ { gsub(/^tag *= *"|".*$/, ""); print }
'
