import { createPrivateKey, createPublicKey, type JsonWebKey, type KeyObject } from 'node:crypto';
import { mkdir, open, readFile, stat, writeFile } from 'node:fs/promises';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { EctKeyError } from '../base/errors.js';
import {
  algorithmOf,
  importSigningJwk,
  importVerificationJwk,
  issuersOf,
  jwkThumbprint,
  privateJwkOf,
  publicJwkOf,
  type JwkSet,
} from './jwk.js';
import { JwksResolver } from './jwks-resolver.js';
import type { SigningKey, VerificationKey } from './types.js';

/** Names of the files {@link saveKeyFiles} writes. */
export const PRIVATE_KEY_FILE = 'private.jwk.json';
export const JWKS_FILE = 'jwks.json';

/**
 * Parses a private key from file contents: a private JWK (JSON) or a PKCS#8/SEC1 PEM.
 *
 * @example const key = parseSigningKey(fs.readFileSync('key.pem', 'utf8'));
 */
export function parseSigningKey(text: string, kid?: string): SigningKey {
  const trimmed = text.trim();
  if (trimmed.startsWith('{')) {
    const jwk = parseJson(trimmed) as JsonWebKey;
    const key = importSigningJwk(jwk);
    return kid === undefined ? key : { ...key, kid };
  }
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(trimmed);
  } catch (cause) {
    throw new EctKeyError('not a private JWK or PEM key', { cause });
  }
  return {
    kid: kid ?? jwkThumbprint(createPublicKey(privateKey).export({ format: 'jwk' })),
    alg: algorithmOf(privateKey),
    privateKey,
  };
}

/**
 * Parses verification keys from file contents: a JWK Set, a single JWK, or a public (SPKI) PEM.
 *
 * @example const keys = parseVerificationKeys(fs.readFileSync('jwks.json', 'utf8'));
 */
export function parseVerificationKeys(text: string): JwksResolver {
  const trimmed = text.trim();
  if (trimmed.startsWith('{')) {
    const json = parseJson(trimmed) as JwkSet | JsonWebKey;
    return 'keys' in json ? JwksResolver.fromJwks(json) : new JwksResolver([importVerificationJwk(json)]);
  }
  let publicKey: KeyObject;
  try {
    publicKey = createPublicKey(trimmed);
  } catch (cause) {
    throw new EctKeyError('not a JWK Set, JWK or PEM public key', { cause });
  }
  const key: VerificationKey = {
    kid: jwkThumbprint(publicKey.export({ format: 'jwk' })),
    alg: algorithmOf(publicKey),
    publicKey,
  };
  return new JwksResolver([key]);
}

/**
 * Reads a signing key file (JWK or PEM).
 *
 * @example const key = await loadSigningKey('./keys/private.jwk.json');
 */
export async function loadSigningKey(path: string, kid?: string): Promise<SigningKey> {
  return parseSigningKey(await readKeyFile(path), kid);
}

/**
 * Reads a verification key file (JWK Set, JWK or PEM).
 *
 * @example const keys = await loadVerificationKeys('./keys/jwks.json');
 */
export async function loadVerificationKeys(path: string): Promise<JwksResolver> {
  return parseVerificationKeys(await readKeyFile(path));
}

/**
 * Reads verification keys from a file (JWK Set, JWK or PEM) or from every `*.json` JWK Set in a
 * directory (the layout the bridge's development keys use).
 *
 * @example const keys = await loadVerificationKeysFrom('.ect/demo/jwks');
 */
export async function loadVerificationKeysFrom(path: string): Promise<JwksResolver> {
  let isDir: boolean;
  try {
    isDir = (await stat(path)).isDirectory();
  } catch (cause) {
    throw new EctKeyError(`cannot read key file ${path}: ${(cause as NodeJS.ErrnoException).code ?? String(cause)}`, {
      cause,
    });
  }
  return isDir ? readJwkSetFolder(path) : loadVerificationKeys(path);
}

/**
 * Reads every `*.json` file of a folder (in name order) as a JWK Set or a single JWK and returns
 * all their keys: the layout where services on one machine publish their development keys. A file
 * that cannot be read or parsed throws an {@link EctKeyError} naming it, unless `onBadFile` is
 * given, which is then told and the file skipped (so one bad file does not hide the others).
 *
 * @example const keys = readJwkSetFolder('.ect/jwks', (file, error) => console.warn(file, error));
 */
export function readJwkSetFolder(dir: string, onBadFile?: (file: string, error: unknown) => void): JwksResolver {
  const all = new JwksResolver();
  const files = readdirSync(dir)
    .filter((file) => file.endsWith('.json'))
    .sort();
  for (const file of files) {
    const path = join(dir, file);
    try {
      const set = parseVerificationKeys(readFileSync(path, 'utf8'));
      for (const kid of set.kids) all.add(set.resolveSync(kid)!);
    } catch (error) {
      if (onBadFile === undefined) {
        throw new EctKeyError(
          `cannot use key file ${path}: ${error instanceof Error ? error.message : String(error)}`,
          {
            cause: error,
          },
        );
      }
      onBadFile(path, error);
    }
  }
  return all;
}

/** A signing key's issuer binding (`ect_iss`) and the file that states it. */
export interface IssuerBinding {
  /** Issuers the key may sign for. */
  issuers: readonly string[];
  /** The file the binding was read from. */
  source: string;
}

/**
 * Finds the issuer binding verifiers will hold a signing key to, so that a signer can refuse an
 * `iss` no verifier would accept. The first of these that binds the key wins:
 * 1. `jwksPath`, when given: its JWK whose `kid` is the key's (a set without it is refused);
 * 2. `jwks.json` beside the key file, the layout {@link saveKeyFiles} writes: its JWK with the key's `kid`;
 * 3. an `ect_iss` member in the private JWK itself.
 * The published JWK Set comes before the private file because it is what verifiers read.
 * `undefined` when none binds the key (such a key verifies for any `iss`).
 *
 * @example const binding = await findIssuerBinding('./keys/private.jwk.json', key);
 */
export async function findIssuerBinding(
  keyPath: string,
  key: SigningKey,
  jwksPath?: string,
): Promise<IssuerBinding | undefined> {
  if (jwksPath !== undefined) {
    const published = publishedKey(jwksPath, await readKeyFile(jwksPath), key.kid);
    if (published === undefined) throw new EctKeyError(`${jwksPath} has no key with kid ${key.kid}`);
    if (published.issuers !== undefined && published.issuers.length > 0)
      return { issuers: published.issuers, source: jwksPath };
  } else {
    const sibling = join(dirname(keyPath), JWKS_FILE);
    const text = await readFile(sibling, 'utf8').catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return undefined;
      throw new EctKeyError(`cannot read key file ${sibling}: ${error.code ?? String(error)}`, { cause: error });
    });
    const published = text === undefined ? undefined : publishedKey(sibling, text, key.kid);
    if (published?.issuers !== undefined && published.issuers.length > 0)
      return { issuers: published.issuers, source: sibling };
  }
  const own = (await readKeyFile(keyPath)).trim();
  if (!own.startsWith('{')) return undefined;
  const issuers = issuersOf(parseJson(own) as JsonWebKey);
  return issuers !== undefined && issuers.length > 0 ? { issuers, source: keyPath } : undefined;
}

function publishedKey(path: string, text: string, kid: string): VerificationKey | undefined {
  try {
    return parseVerificationKeys(text).resolveSync(kid);
  } catch (cause) {
    throw new EctKeyError(`cannot read the issuer binding from ${path}: ${(cause as Error).message}`, { cause });
  }
}

/**
 * Writes `DIR/private.jwk.json` (mode 0600) and `DIR/jwks.json` for a key; extra public keys
 * (still-active ones during a rotation) go into the JWK Set too.
 *
 * @example await saveKeyFiles('./keys', generateSigningKey());
 */
export async function saveKeyFiles(
  dir: string,
  key: SigningKey,
  options: { issuers?: readonly string[]; alsoPublish?: readonly JsonWebKey[] } = {},
): Promise<{ privateKeyPath: string; jwksPath: string }> {
  await mkdir(dir, { recursive: true });
  const privateKeyPath = join(dir, PRIVATE_KEY_FILE);
  const jwksPath = join(dir, JWKS_FILE);
  await writePrivateFile(privateKeyPath, `${JSON.stringify(privateJwkOf(key), null, 2)}\n`);
  const jwks = { keys: [publicJwkOf(key, options.issuers), ...(options.alsoPublish ?? [])] };
  await writeFile(jwksPath, `${JSON.stringify(jwks, null, 2)}\n`);
  return { privateKeyPath, jwksPath };
}

/**
 * Writes a secret with mode 0600. `writeFile`'s `mode` only applies when it creates the file, so an
 * existing file is narrowed to 0600 before the secret goes in.
 */
async function writePrivateFile(path: string, text: string): Promise<void> {
  const handle = await open(path, 'w', 0o600);
  try {
    await handle.chmod(0o600);
    await handle.writeFile(text);
  } finally {
    await handle.close();
  }
}

async function readKeyFile(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (cause) {
    throw new EctKeyError(`cannot read key file ${path}: ${(cause as NodeJS.ErrnoException).code ?? String(cause)}`, {
      cause,
    });
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (cause) {
    throw new EctKeyError('key file is not valid JSON', { cause });
  }
}
