/**
 * Which incoming requests must carry an `Execution-Context` token (`ECT_REQUIRE`,
 * `ECT_REQUIRE_EXEMPT`). Without a policy a request with no token is served as an untraced
 * caller's; with one, such a request is refused `401 ECT_MISSING` in enforce mode and recorded
 * in record mode.
 */
import { EctConfigError } from '../config-error.js';

/** The exemptions when `ECT_REQUIRE_EXEMPT` is unset: health, readiness and metrics probes. */
export const DEFAULT_REQUIRE_EXEMPT: readonly string[] = [
  '/health',
  '/healthz',
  '/ready',
  '/readyz',
  '/livez',
  '/metrics',
];

/**
 * `none`: no request needs a token. `all`: every request does, but the exempt paths. `prefixes`:
 * requests under one of the prefixes do, but the exempt paths.
 */
export type RequirePolicy =
  | { readonly kind: 'none' }
  | { readonly kind: 'all'; readonly exempt: readonly string[] }
  | { readonly kind: 'prefixes'; readonly prefixes: readonly string[]; readonly exempt: readonly string[] };

/** The policy that requires nothing (the default). */
export const REQUIRE_NONE: RequirePolicy = Object.freeze({ kind: 'none' });

/** An `ECT_REQUIRE` / `ECT_REQUIRE_EXEMPT` value that cannot be used: a configuration error like any other. */
export class EctRequirePolicyError extends EctConfigError {
  override name = 'EctRequirePolicyError';
  /** The environment variable (or option) at fault. */
  readonly variable: string;
  constructor(variable: string, message: string) {
    super(`${variable}: ${message}`);
    this.variable = variable;
  }
}

/**
 * Parses the two settings: `require` is `none`, `all` or a comma list of path prefixes (each
 * starting with `/`); `exempt` a comma list of path prefixes (unset: {@link DEFAULT_REQUIRE_EXEMPT};
 * empty: none). Throws {@link EctRequirePolicyError} for anything else, so a typo cannot silently
 * leave routes unguarded.
 *
 * @example parseRequirePolicy('/api,/admin', undefined) // { kind: 'prefixes', prefixes: ['/api', '/admin'], exempt: … }
 */
export function parseRequirePolicy(require: string | undefined, exempt: string | undefined): RequirePolicy {
  const text = (require ?? 'none').trim();
  const exemptPaths = exempt === undefined ? DEFAULT_REQUIRE_EXEMPT : prefixList('ECT_REQUIRE_EXEMPT', exempt);
  const keyword = text.toLowerCase();
  if (keyword === 'none' || keyword === '') return REQUIRE_NONE;
  if (keyword === 'all') return { kind: 'all', exempt: exemptPaths };
  const prefixes = prefixList('ECT_REQUIRE', text);
  if (prefixes.length === 0) throw new EctRequirePolicyError('ECT_REQUIRE', 'must be none, all or path prefixes');
  return { kind: 'prefixes', prefixes, exempt: exemptPaths };
}

/**
 * Reads the policy from the environment (`ECT_REQUIRE`, `ECT_REQUIRE_EXEMPT`).
 *
 * @example const policy = requirePolicyFromEnv();
 */
export function requirePolicyFromEnv(env: NodeJS.ProcessEnv = process.env): RequirePolicy {
  return parseRequirePolicy(env.ECT_REQUIRE, env.ECT_REQUIRE_EXEMPT);
}

/**
 * Whether a request target (`req.url`, an HTTP/2 `:path`, or a CONNECT authority) needs a token.
 * Prefixes match whole path segments (`/api` covers `/api` and `/api/x`, not `/apix`). Since a
 * router may decode, resolve `.`/`..` and ignore case before it picks a handler, a target counts
 * as under a required prefix if it is in any of those readings, and as exempt only if it is
 * exempt both as sent and once normalised: a spelling trick can make a route required, never
 * exempt. A CONNECT authority (no path) is required only under `all`.
 *
 * @example tokenRequired(policy, '/api/orders?id=1') // true under ECT_REQUIRE=/api
 */
export function tokenRequired(policy: RequirePolicy, target: string | undefined): boolean {
  if (policy.kind === 'none') return false;
  const raw = pathOf(target ?? '');
  if (raw === undefined) return policy.kind === 'all';
  const normal = normalise(raw);
  if (policy.kind === 'prefixes') {
    const lower = normal.toLowerCase();
    const rawLower = raw.toLowerCase();
    const under = policy.prefixes.some(
      (prefix) => underPrefix(lower, prefix.toLowerCase()) || underPrefix(rawLower, prefix.toLowerCase()),
    );
    if (!under) return false;
  }
  return !policy.exempt.some((prefix) => underPrefix(raw, prefix) && underPrefix(normal, prefix));
}

function prefixList(variable: string, text: string): string[] {
  const prefixes = text
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p !== '');
  for (const prefix of prefixes) {
    if (!prefix.startsWith('/') || /[\s?#]/.test(prefix))
      throw new EctRequirePolicyError(variable, `${JSON.stringify(prefix)} is not a path prefix (like /api)`);
  }
  // Trailing slashes are implied by segment matching: `/api/` and `/api` mean the same.
  return prefixes.map((p) => (p.length > 1 ? p.replace(/\/+$/, '') || '/' : p));
}

/** The path of a request target; undefined for an authority (CONNECT) or an asterisk (OPTIONS *). */
function pathOf(target: string): string | undefined {
  let end = target.length;
  for (const stop of ['?', '#']) {
    const at = target.indexOf(stop);
    if (at !== -1 && at < end) end = at;
  }
  const path = target.slice(0, end);
  if (path.startsWith('/')) return path;
  // Absolute form (`GET http://host/path`), as sent to proxies.
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(path)) {
    try {
      return new URL(path).pathname;
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/** Percent-decoded (where it decodes), backslashes as slashes, `.`/`..` resolved, empty segments dropped. */
function normalise(path: string): string {
  let decoded = path;
  try {
    decoded = decodeURIComponent(path);
  } catch {
    // Not valid percent-encoding: routers refuse or keep it as is; match it as is.
  }
  const segments: string[] = [];
  for (const segment of decoded.replaceAll('\\', '/').split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') segments.pop();
    else segments.push(segment);
  }
  return `/${segments.join('/')}`;
}

function underPrefix(path: string, prefix: string): boolean {
  if (prefix === '/') return true;
  return path === prefix || (path.startsWith(prefix) && path.charCodeAt(prefix.length) === 47) /* '/' */;
}
