#!/usr/bin/env bash
# Prints a JSON object of the gateway's secrets that are set in the environment, for `wrangler deploy --secrets-file`
# and `wrangler versions upload --secrets-file`. Unset or empty ones are left out: wrangler then keeps the value the
# Worker already has (secrets files are additive). The list is the README's secrets table.
set -euo pipefail
names=(ADMIN_TOKEN JWT_SECRET METRICS_TOKEN SENTRY_DSN CF_ACCOUNT_ID CF_API_TOKEN ALERT_EMAIL_API_KEY TWILIO_AUTH_TOKEN)
node -e '
const out = {};
for (const name of process.argv.slice(1)) if (process.env[name]) out[name] = process.env[name];
process.stdout.write(JSON.stringify(out));
' "${names[@]}"
