#!/usr/bin/env bash
# Creates the queues (and dead-letter queues) an environment's wrangler.toml names, when they do not exist yet.
# Usage: scripts/ci/ensure-queues.sh <staging|production|development>. Queue names end in -<environment>.
set -euo pipefail
environment="${1:?usage: ensure-queues.sh <environment>}"
cd "$(dirname "$0")/../.."
mapfile -t queues < <(grep -oE '(queue|dead_letter_queue) = "[^"]+-'"$environment"'"' wrangler.toml | sed -E 's/.*"(.*)"/\1/' | sort -u)
if [ "${#queues[@]}" -eq 0 ]; then echo "no queues for $environment in wrangler.toml"; exit 0; fi
for queue in "${queues[@]}"; do
  if npx wrangler queues info "$queue" > /dev/null 2>&1; then
    echo "queue $queue exists"
  else
    output=$(npx wrangler queues create "$queue" 2>&1) || {
      # Two runs racing, or `info` failing for another reason while the queue is there: not an error.
      if grep -qi 'already exists\|already taken' <<< "$output"; then echo "queue $queue exists"; continue; fi
      echo "$output" >&2
      exit 1
    }
    echo "queue $queue created"
  fi
done
