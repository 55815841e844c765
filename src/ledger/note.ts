/**
 * C2SP signed notes (https://c2sp.org/signed-note) with Ed25519 keys, in the key encodings of
 * `golang.org/x/mod/sumdb/note`, so that a verifier key string `name+hash+base64` printed here
 * works with Go's `note.NewVerifier` and the reverse.
 *
 * A note is UTF-8 text ending in a newline, a blank line, then one line per signature:
 * `— <key name> <base64(4-byte key id ‖ signature)>`. The key id is the first four bytes of
 * SHA-256(name ‖ "\n" ‖ 0x01 ‖ public key), 0x01 naming the Ed25519 algorithm.
 */
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  sign,
  verify,
  type KeyObject,
} from 'node:crypto';
import { EctLedgerError } from '../base/errors.js';

const ALG_ED25519 = 0x01;
const SIG_PREFIX = '\u2014 ';
// DER prefixes that wrap a raw 32-byte Ed25519 seed (PKCS #8) or public key (SPKI).
const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
/** Go's note.Open refuses notes with more signatures than this; so do we. */
const MAX_SIGNATURES = 100;

function invalid(message: string): never {
  throw new EctLedgerError('ECT_LEDGER_NOTE_INVALID', message);
}

function checkKeyName(name: string): void {
  if (name.length === 0 || /[\s+]/u.test(name) || !isPrintable(name)) {
    invalid(`key name ${JSON.stringify(name)} must be non-empty, without spaces or '+'`);
  }
}

function isPrintable(text: string): boolean {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
  return !/[\u0000-\u0009\u000b-\u001f\u007f]/u.test(text);
}

function keyIdOf(name: string, publicKey: Uint8Array): number {
  const digest = createHash('sha256')
    .update(name)
    .update('\n')
    .update(Buffer.from([ALG_ED25519]))
    .update(publicKey)
    .digest();
  return digest.readUInt32BE(0);
}

function splitFields(text: string, count: number, shape: string): string[] {
  const fields: string[] = [];
  let rest = text;
  for (let i = 1; i < count; i++) {
    const plus = rest.indexOf('+');
    if (plus < 0) invalid(shape);
    fields.push(rest.slice(0, plus));
    rest = rest.slice(plus + 1);
  }
  fields.push(rest);
  return fields;
}

const hex8 = (id: number): string => id.toString(16).padStart(8, '0');

/** A public note key: checks signatures of one name and key id. */
export class NoteVerifier {
  readonly name: string;
  readonly keyId: number;
  readonly publicKey: Buffer;
  readonly #key: KeyObject;

  private constructor(name: string, publicKey: Buffer) {
    checkKeyName(name);
    if (publicKey.length !== 32) invalid('an Ed25519 public key is 32 bytes');
    this.name = name;
    this.publicKey = publicKey;
    this.keyId = keyIdOf(name, publicKey);
    this.#key = createPublicKey({ key: Buffer.concat([SPKI_PREFIX, publicKey]), format: 'der', type: 'spki' });
  }

  /**
   * Reads a verifier key string `name+hash+base64(0x01 ‖ public key)`.
   *
   * @example NoteVerifier.fromString('example.com/log+1a2b3c4d+AQ…')
   */
  static fromString(verifierKey: string): NoteVerifier {
    // The base64 key may itself hold '+': split off the first two fields only.
    const [name = '', hash = '', key = ''] = splitFields(verifierKey.trim(), 3, 'a verifier key is name+hash+key');
    const raw = Buffer.from(key, 'base64');
    if (!/^[0-9a-f]{8}$/.test(hash) || raw.toString('base64') !== key || raw.length !== 33 || raw[0] !== ALG_ED25519) {
      invalid('verifier key is not an Ed25519 note key (name+8 hex digits+base64 of 0x01 and 32 bytes)');
    }
    const verifier = new NoteVerifier(name, raw.subarray(1));
    if (hex8(verifier.keyId) !== hash) invalid(`verifier key hash ${hash} does not match its name and key`);
    return verifier;
  }

  /** @internal */
  static of(name: string, publicKey: Buffer): NoteVerifier {
    return new NoteVerifier(name, publicKey);
  }

  /** The `name+hash+base64` string. */
  toString(): string {
    return `${this.name}+${hex8(this.keyId)}+${Buffer.concat([Buffer.from([ALG_ED25519]), this.publicKey]).toString('base64')}`;
  }

  /** True when `signature` is this key's Ed25519 signature of `text`. */
  verifies(text: string, signature: Uint8Array): boolean {
    return signature.length === 64 && verify(null, Buffer.from(text, 'utf8'), this.#key, signature);
  }
}

/** A private note key. */
export class NoteSigner {
  readonly verifier: NoteVerifier;
  readonly #seed: Buffer;
  readonly #key: KeyObject;

  private constructor(name: string, seed: Buffer) {
    if (seed.length !== 32) invalid('an Ed25519 private key is a 32-byte seed');
    this.#seed = seed;
    this.#key = createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, seed]), format: 'der', type: 'pkcs8' });
    const spki = createPublicKey(this.#key).export({ format: 'der', type: 'spki' });
    this.verifier = NoteVerifier.of(name, spki.subarray(SPKI_PREFIX.length));
  }

  /**
   * A fresh Ed25519 key named `name` (for a log, its origin).
   *
   * @example const signer = NoteSigner.generate('example.com/ledger');
   */
  static generate(name: string): NoteSigner {
    const { privateKey } = generateKeyPairSync('ed25519');
    const pkcs8 = privateKey.export({ format: 'der', type: 'pkcs8' });
    return new NoteSigner(name, pkcs8.subarray(PKCS8_PREFIX.length));
  }

  /**
   * Reads a signer key string `PRIVATE+KEY+name+hash+base64(0x01 ‖ seed)`, as Go's
   * `note.GenerateKey` writes it.
   *
   * @example NoteSigner.fromString(readFileSync('note.key', 'utf8'))
   */
  static fromString(signerKey: string): NoteSigner {
    const [private_, key_, name = '', hash = '', key = ''] = splitFields(
      signerKey.trim(),
      5,
      'a signer key is PRIVATE+KEY+name+hash+key',
    );
    if (private_ !== 'PRIVATE' || key_ !== 'KEY') invalid('a signer key is PRIVATE+KEY+name+hash+key');
    const raw = Buffer.from(key, 'base64');
    if (raw.length !== 33 || raw[0] !== ALG_ED25519) invalid('signer key is not an Ed25519 note key');
    const signer = new NoteSigner(name, raw.subarray(1));
    if (hex8(signer.verifier.keyId) !== hash) invalid(`signer key hash ${hash} does not match its name and key`);
    return signer;
  }

  get name(): string {
    return this.verifier.name;
  }

  /** The `PRIVATE+KEY+name+hash+base64` string: keep it secret. */
  toString(): string {
    const encoded = Buffer.concat([Buffer.from([ALG_ED25519]), this.#seed]).toString('base64');
    return `PRIVATE+KEY+${this.name}+${hex8(this.verifier.keyId)}+${encoded}`;
  }

  /**
   * Signs `text` (which must end with a newline) and returns the whole note.
   *
   * @example signer.sign('hello\n') // 'hello\n\n— name AbCd…\n'
   */
  sign(text: string): string {
    checkText(text);
    const signature = sign(null, Buffer.from(text, 'utf8'), this.#key);
    const id = Buffer.alloc(4);
    id.writeUInt32BE(this.verifier.keyId);
    return `${text}\n${SIG_PREFIX}${this.name} ${Buffer.concat([id, signature]).toString('base64')}\n`;
  }
}

function checkText(text: string): void {
  if (!text.endsWith('\n')) invalid('note text must end with a newline');
  if (!isPrintable(text)) invalid('note text holds control characters');
  if (text.includes('\n\n')) invalid('note text must not hold a blank line');
}

/** One signature line of a note. */
export interface NoteSignature {
  name: string;
  keyId: number;
  /** The signature bytes without the key id. */
  signature: Buffer;
}

/** A note whose signature by a known key checked. */
export interface OpenedNote {
  text: string;
  /** Every signature line, checked or not. */
  signatures: NoteSignature[];
  /** The keys whose signatures checked. */
  verifiedBy: NoteVerifier[];
}

/**
 * Splits a note into text and signatures and checks it is signed by at least one of `verifiers`;
 * signatures by unknown keys are kept but not trusted (as Go's `note.Open` does).
 *
 * @example openNote(checkpointNote, [NoteVerifier.fromString(pub)]).text
 */
export function openNote(note: string, verifiers: readonly NoteVerifier[]): OpenedNote {
  const split = note.lastIndexOf('\n\n');
  if (split < 0 || !note.endsWith('\n')) invalid('a note is text, a blank line and signature lines');
  const text = note.slice(0, split + 1);
  checkText(text);
  const lines = note.slice(split + 2, -1).split('\n');
  if (lines.length > MAX_SIGNATURES) invalid(`more than ${MAX_SIGNATURES} signatures`);
  const signatures: NoteSignature[] = [];
  const verifiedBy: NoteVerifier[] = [];
  for (const line of lines) {
    if (!line.startsWith(SIG_PREFIX)) invalid('a signature line starts with an em dash and a space');
    const rest = line.slice(SIG_PREFIX.length);
    const space = rest.indexOf(' ');
    const name = rest.slice(0, space);
    const encoded = rest.slice(space + 1);
    const raw = Buffer.from(encoded, 'base64');
    if (space <= 0 || raw.length < 5 || raw.toString('base64') !== encoded) invalid('malformed signature line');
    checkKeyName(name);
    const entry = { name, keyId: raw.readUInt32BE(0), signature: raw.subarray(4) };
    signatures.push(entry);
    const known = verifiers.find((v) => v.name === entry.name && v.keyId === entry.keyId);
    if (known === undefined) continue;
    if (!known.verifies(text, entry.signature)) invalid(`signature by ${name} does not verify`);
    verifiedBy.push(known);
  }
  if (verifiedBy.length === 0) invalid('no signature by a known key');
  return { text, signatures, verifiedBy };
}
