/** @module Each service's `policies.auth`, compiled once per configuration version, and the gateway's verifiers. */
import type { AuthMode, AuthPolicyConfig, GatewayConfig, ServiceConfig } from '../../config/schema.ts';
import type { Identity } from '../../env.ts';
import { pathHasPrefix } from '../../routing/normalize-path.ts';
import { ApiKeyResolver } from './api-keys.ts';
import { AccessVerifier } from './cloudflare-access.ts';
import { claimsInUse, identityForwarding, type IdentityForwarding } from './identity.ts';
import { Introspector } from './introspection.ts';
import { JwtVerifier } from './jwt-verifier.ts';

interface PathCondition {
  prefix: string | undefined;
  methods: ReadonlySet<string> | undefined;
}

export interface AccessRule extends PathCondition {
  roles: readonly string[] | undefined;
  scopes: readonly string[] | undefined;
  all: boolean;
}

/**
 * Whether an origin could read `path` (normalised) as another path than the gateway does, and so reach a route the
 * gateway did not check it for:
 * - `;` path parameters (`/login/..;/admin` is `/admin` to Tomcat),
 * - encoded separators and percent signs (`%2F`, `%5C`, `%25`: origins that decode once more see new segments),
 * - encoded non-ASCII that is not valid UTF-8 (overlong `%C0%AE` is "." to old decoders) or that Unicode
 *   compatibility folding turns into `.`, `/`, `\`, `;` or `%` (fullwidth `%EF%BC%8E` is "．", NFKC "."), as
 *   IIS-style normalisers do.
 * Such a path is never public, and every rule of its service applies to it whatever the rule's prefix says.
 * Plain paths, and paths with other ASCII escapes (`%20`) or ordinary non-ASCII (`%C3%A9`), are not ambiguous.
 */
export function isAmbiguousPath(path: string): boolean {
  if (path.includes(';')) return true;
  if (!path.includes('%')) return false;
  if (/%(2F|5C|25)/i.test(path)) return true;
  if (!/%[89A-F][0-9A-F]/i.test(path)) return false;
  let decoded: string;
  try {
    decoded = decodeURIComponent(path);
  } catch {
    return true; // not UTF-8: overlong forms and stray bytes are read differently by different decoders
  }
  const folded = decoded.normalize('NFKC');
  if (folded === decoded) return false;
  return [...'./\\;%'].some((char) => folded.split(char).length !== decoded.split(char).length);
}

/**
 * Headers through which a client asks the origin to treat a request as another method (Express's method-override,
 * Symfony, ASP.NET, Google APIs, and frameworks that honour them). The gateway cannot know whether the origin does.
 */
const METHOD_OVERRIDE_HEADERS = ['x-http-method-override', 'x-http-method', 'x-method-override'] as const;

/**
 * The methods a request could be to its origin: its own and any it names in a method-override header. A GET with
 * `X-HTTP-Method-Override: DELETE` must meet the DELETE rules too, and is public only where DELETE is.
 */
export function requestMethods(method: string, headers: Headers): readonly string[] {
  let methods: string[] | undefined;
  for (const name of METHOD_OVERRIDE_HEADERS) {
    const value = headers.get(name);
    if (value === null) continue;
    for (const entry of value.split(',')) {
      const override = entry.trim().toUpperCase();
      if (override !== '' && override !== method && !methods?.includes(override)) (methods ??= [method]).push(override);
    }
  }
  return methods ?? [method];
}

function matches(condition: PathCondition, method: string, path: string, ambiguous: boolean): boolean {
  if (condition.methods && !condition.methods.has(method)) return false;
  return condition.prefix === undefined || ambiguous || pathHasPrefix(path, condition.prefix);
}

/** One service's authentication and authorization, ready for the request path. */
export class ServiceAuth {
  readonly mode: AuthMode;
  /** Issuer names accepted; undefined: every issuer of the gateway. */
  readonly issuers: ReadonlySet<string> | undefined;
  readonly introspector: Introspector | undefined;
  readonly forwarding: IdentityForwarding;
  readonly #publicPaths: PathCondition[];
  readonly #rules: AccessRule[];
  /** Some public path or rule is limited to methods, so a method-override header can change what applies. */
  readonly methodSensitive: boolean;

  constructor(policy: AuthPolicyConfig | undefined, introspectors: ReadonlyMap<string, Introspector>) {
    this.mode = policy?.mode ?? 'none';
    this.issuers = policy?.issuers && new Set(policy.issuers);
    this.introspector = policy?.introspection === undefined ? undefined : introspectors.get(policy.introspection);
    this.forwarding = identityForwarding(policy?.identityHeaders);
    this.#publicPaths = (policy?.publicPaths ?? []).map((entry) =>
      typeof entry === 'string'
        ? { prefix: entry, methods: undefined }
        : { prefix: entry.path, methods: entry.methods && new Set<string>(entry.methods) },
    );
    this.#rules = (policy?.rules ?? []).map((rule) => ({
      prefix: rule.pathPrefix,
      methods: rule.methods && new Set<string>(rule.methods),
      roles: rule.roles,
      scopes: rule.scopes,
      all: rule.match === 'all',
    }));
    this.methodSensitive = [...this.#publicPaths, ...this.#rules].some((condition) => condition.methods !== undefined);
  }

  /** No credentials needed for this method (or each of these methods: see requestMethods) and normalised path. */
  isPublic(method: string | readonly string[], path: string): boolean {
    if (this.mode === 'none') return true;
    if (this.#publicPaths.length === 0 || isAmbiguousPath(path)) return false;
    const publicFor = (one: string) => this.#publicPaths.some((condition) => matches(condition, one, path, false));
    // A single method (no override, the common case) is checked without an array per request.
    return typeof method === 'string' ? publicFor(method) : method.every(publicFor);
  }

  /** The first rule that applies to the request (for any of its methods) and that `identity` does not satisfy. */
  unmetRule(identity: Identity, method: string | readonly string[], path: string): AccessRule | undefined {
    if (this.#rules.length === 0) return undefined;
    const ambiguous = isAmbiguousPath(path);
    const applies = (rule: AccessRule) =>
      typeof method === 'string' ? matches(rule, method, path, ambiguous) : method.some((one) => matches(rule, one, path, ambiguous));
    return this.#rules.find((rule) => applies(rule) && !satisfies(rule, identity));
  }

  /** The methods to check a request under: its own, plus any override it names when some condition is per method. */
  methodsOf(request: Request): string | readonly string[] {
    return this.methodSensitive ? requestMethods(request.method, request.headers) : request.method;
  }
}

function satisfies(rule: AccessRule, identity: Identity): boolean {
  const has = (granted: readonly string[], required: readonly string[] | undefined) =>
    required === undefined || (rule.all ? required.every((entry) => granted.includes(entry)) : required.some((entry) => granted.includes(entry)));
  return has(identity.roles, rule.roles) && has(identity.scopes, rule.scopes);
}

/** The gateway's verifiers and every service's policy, for one configuration version. */
export class AuthRuntime {
  readonly realm: string;
  readonly jwt: JwtVerifier;
  readonly apiKeys: ApiKeyResolver;
  readonly adminRole: string;
  readonly adminIssuers: ReadonlySet<string> | undefined;
  /** Cloudflare Access in front of the admin plane, when configured (`gateway.auth.admin.access`). */
  readonly adminAccess: AccessVerifier | undefined;
  readonly #services: ReadonlyMap<string, ServiceAuth>;
  readonly #anonymous: ServiceAuth;

  constructor(config: GatewayConfig) {
    const { auth } = config.gateway;
    const retainedClaims = claimsInUse(config.services.map((service) => service.policies.auth?.identityHeaders));
    this.realm = auth.realm;
    this.jwt = new JwtVerifier(auth, undefined, retainedClaims);
    this.apiKeys = new ApiKeyResolver(auth.apiKeys);
    this.adminRole = auth.admin.role;
    this.adminIssuers = auth.admin.issuers && new Set(auth.admin.issuers);
    this.adminAccess = auth.admin.access && new AccessVerifier(auth.admin.access, auth.admin.role);
    const introspectors = new Map(auth.introspection.map((endpoint) => [endpoint.name, new Introspector(endpoint, retainedClaims, auth.maxTokenBytes)]));
    this.#services = new Map(config.services.map((service: ServiceConfig) => [service.name, new ServiceAuth(service.policies.auth, introspectors)]));
    this.#anonymous = new ServiceAuth(undefined, introspectors);
  }

  /** The policy of the service called `name` (a policy of mode "none" for an unknown name). */
  service(name: string): ServiceAuth {
    return this.#services.get(name) ?? this.#anonymous;
  }
}
