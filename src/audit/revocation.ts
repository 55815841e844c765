import { readFile } from 'node:fs/promises';

/**
 * A key the auditor holds as revoked. `revokedAt` (seconds since the epoch) is the moment from
 * which the key is no longer trusted: the compromise time, or the earliest moment it may have been
 * compromised.
 */
export interface RevokedKey {
  kid: string;
  revokedAt: number;
  /** Only tokens of this issuer (the key's owner); any issuer when absent. */
  iss?: string;
  reason?: string;
}

/**
 * The revocation rule: a token signed with a revoked key (its header `kid`, and `iss` when the
 * entry names one) is `failed` when its `iat` is at or after `revokedAt`; tokens the key signed
 * before stay as they are. `iat` is written by whoever holds the key, so a key whose compromise
 * time is unknown should be listed with `revoked_at` at its creation (or 0): then every token it
 * signed fails. Every descendant of a failed token is `suspect`.
 *
 * @example revocationOf(list, 'k1', 'spiffe://example.org/service/api', 1764400000)
 */
export function revocationOf(
  list: readonly RevokedKey[],
  kid: string | undefined,
  iss: string | undefined,
  iat: number,
): RevokedKey | undefined {
  if (kid === undefined) return undefined;
  return list.find((k) => k.kid === kid && (k.iss === undefined || k.iss === iss) && iat >= k.revokedAt);
}

/**
 * Reads a revocation list (`--revoked FILE`): JSON, either `{"revoked": [...]}` or the array alone,
 * each entry `{"kid": "…", "revoked_at": "2026-11-28T10:00:00Z" | 1764324000, "iss"?: "…",
 * "reason"?: "…"}` (`revoked_at` an ISO 8601 time or seconds since the epoch). Throws a
 * `SyntaxError` naming the entry at fault.
 *
 * @example const revoked = parseRevocationList(await readFile('revoked.json', 'utf8'));
 */
export function parseRevocationList(text: string): RevokedKey[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (error) {
    throw new SyntaxError(`revocation list is not JSON: ${(error as Error).message}`);
  }
  const list = Array.isArray(doc) ? doc : (doc as { revoked?: unknown } | null)?.revoked;
  if (!Array.isArray(list)) throw new SyntaxError('revocation list must be {"revoked": [ … ]} or an array');
  return list.map((entry: unknown, i) => {
    const e = (entry ?? {}) as Record<string, unknown>;
    if (typeof e.kid !== 'string' || e.kid === '') throw new SyntaxError(`revoked[${i}].kid must be a string`);
    const at = e.revoked_at;
    const revokedAt =
      typeof at === 'number' && Number.isFinite(at)
        ? at
        : typeof at === 'string' && !Number.isNaN(Date.parse(at))
          ? Date.parse(at) / 1000
          : undefined;
    if (revokedAt === undefined)
      throw new SyntaxError(`revoked[${i}].revoked_at must be an ISO 8601 time or seconds since the epoch`);
    const key: RevokedKey = { kid: e.kid, revokedAt };
    if (typeof e.iss === 'string') key.iss = e.iss;
    if (typeof e.reason === 'string') key.reason = e.reason;
    return key;
  });
}

/**
 * {@link parseRevocationList} of a file.
 *
 * @example const revoked = await readRevocationList('revoked.json');
 */
export async function readRevocationList(path: string): Promise<RevokedKey[]> {
  return parseRevocationList(await readFile(path, 'utf8'));
}
