/**
 * @module `npm run token -- --sub alice --roles admin`: prints a JWT signed with `JWT_SECRET` from `.dev.vars`, for
 * the configuration's first issuer of kind "secret" (its `iss`, first audience and first algorithm), so local
 * requests can be authenticated: `curl -H "Authorization: Bearer $(npm run -s token -- --sub alice)" …`.
 *
 * Options: --sub (required), --roles a,b, --scopes "read write", --ttl seconds (default 3600), --aud, --iss,
 * --config other.json, --secret-file path (default .dev.vars).
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { SignJWT } from 'jose';
import { ConfigError, parseGatewayConfigText } from '../src/config/load.ts';

const root = new URL('..', import.meta.url);
const { values: options } = parseArgs({
  options: {
    sub: { type: 'string' },
    roles: { type: 'string', default: '' },
    scopes: { type: 'string', default: '' },
    ttl: { type: 'string', default: '3600' },
    aud: { type: 'string' },
    iss: { type: 'string' },
    config: { type: 'string' },
    'secret-file': { type: 'string' },
  },
});

function fail(message: string): never {
  console.error(message);
  process.exit(1);
}

if (!options.sub) fail('usage: npm run token -- --sub <subject> [--roles a,b] [--scopes "x y"] [--ttl 3600] [--aud …] [--iss …]');
const ttl = Number(options.ttl);
if (!Number.isInteger(ttl) || ttl <= 0) fail('--ttl must be a positive number of seconds');

const configPath = options.config ? resolve(options.config) : fileURLToPath(new URL('gateway.config.json', root));
let config;
try {
  config = parseGatewayConfigText(readFileSync(configPath, 'utf8'), options.config ?? 'gateway.config.json');
} catch (error) {
  if (error instanceof ConfigError) fail(error.message);
  throw error;
}
const issuer = config.gateway.auth.issuers.find((candidate) => candidate.kind === 'secret' && (!options.iss || candidate.issuer === options.iss));
if (!issuer) fail(`no issuer of kind "secret"${options.iss ? ` with iss "${options.iss}"` : ''} in ${configPath}`);

const secretFile = options['secret-file'] ? resolve(options['secret-file']) : fileURLToPath(new URL('.dev.vars', root));
let devVars: string;
try {
  devVars = readFileSync(secretFile, 'utf8');
} catch {
  fail(`${secretFile} not found: run \`npm start\` once to create it`);
}
// .dev.vars is dotenv syntax: NAME=value per line, optionally quoted.
const line = devVars.split(/\r?\n/).find((candidate) => candidate.startsWith(`${issuer.secret}=`));
const secret = line?.slice(issuer.secret.length + 1).trim().replace(/^(["'])(.*)\1$/, '$2');
if (!secret) fail(`${issuer.secret} is not set in ${secretFile}`);

const claims: Record<string, unknown> = {};
/** Sets a claim at a dotted path ("realm_access.roles"), as the issuer's claim mapping reads it. */
function setClaim(path: string, value: unknown): void {
  const names = path.split('.');
  let target = claims;
  for (const name of names.slice(0, -1)) target = (target[name] ??= {}) as Record<string, unknown>;
  target[names.at(-1)!] = value;
}
const roles = options.roles.split(',').map((role) => role.trim()).filter(Boolean);
if (roles.length > 0) setClaim(issuer.rolesClaim, roles);
if (options.scopes.trim()) setClaim(issuer.scopesClaim, options.scopes.trim().split(/\s+/).join(' '));

const token = await new SignJWT(claims)
  .setProtectedHeader({ alg: issuer.algorithms[0]!, typ: 'JWT' })
  .setIssuer(issuer.issuer)
  .setSubject(options.sub)
  .setAudience(options.aud ?? issuer.audience[0]!)
  .setIssuedAt()
  .setExpirationTime(`${ttl}s`)
  .sign(new TextEncoder().encode(secret));
console.log(token);
