#!/usr/bin/env bash
# Prints a JSON object of the gateway's Worker secrets that are set (in the environment, or in $SECRETS_JSON), for
# `wrangler deploy --secrets-file` and `wrangler versions upload --secrets-file`. The names are the ones the code
# reads: src/env.ts's secrets and those gateway.config.json names (see scripts/ci/secrets-file.ts).
set -euo pipefail
cd "$(dirname "$0")/../.."
exec node scripts/ci/secrets-file.ts "${GATEWAY_CONFIG_FILE:-gateway.config.json}"
