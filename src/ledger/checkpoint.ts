/**
 * C2SP tlog-checkpoint (https://c2sp.org/tlog-checkpoint): the signed head of a log. The body is
 * the origin line, the tree size in decimal and the root hash in standard base64, each ending in a
 * newline, then optional extension lines; it is signed as a {@link openNote | signed note}.
 */
import { EctLedgerError } from '../base/errors.js';
import { HASH_SIZE } from './merkle/hash.js';
import { openNote, type NoteSigner, type NoteVerifier } from './note.js';

/** A log's tree head. */
export interface Checkpoint {
  /** Unique name of the log, e.g. `example.com/ect-ledger`. */
  origin: string;
  /** Number of entries. */
  size: number;
  /** RFC 9162 root hash of the first `size` entries. */
  root: Buffer;
  /** Extension lines, in order, without their newlines. */
  extensions?: string[];
}

function invalid(message: string): never {
  throw new EctLedgerError('ECT_LEDGER_NOTE_INVALID', message);
}

/**
 * The checkpoint body text.
 *
 * @example formatCheckpoint({ origin: 'example.com/log', size: 7, root }) // 'example.com/log\n7\n…=\n'
 */
export function formatCheckpoint(checkpoint: Checkpoint): string {
  const { origin, size, root, extensions = [] } = checkpoint;
  if (origin.length === 0 || origin.includes('\n')) invalid('origin must be one non-empty line');
  if (!Number.isSafeInteger(size) || size < 0) invalid(`invalid tree size ${size}`);
  if (root.length !== HASH_SIZE) invalid('root hash must be 32 bytes');
  for (const line of extensions)
    if (line.length === 0 || line.includes('\n')) invalid('extension lines must be non-empty lines');
  return [origin, String(size), root.toString('base64'), ...extensions].map((line) => `${line}\n`).join('');
}

/**
 * Reads a checkpoint body (the text of its note).
 *
 * @example parseCheckpoint('example.com/log\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n').size // 0
 */
export function parseCheckpoint(text: string): Checkpoint {
  if (!text.endsWith('\n')) invalid('checkpoint must end with a newline');
  const lines = text.slice(0, -1).split('\n');
  const [origin = '', sizeText = '', rootText = '', ...extensions] = lines;
  if (lines.length < 3 || origin.length === 0) invalid('checkpoint needs an origin, a size and a root hash');
  if (!/^(0|[1-9][0-9]*)$/.test(sizeText) || !Number.isSafeInteger(Number(sizeText)))
    invalid(`invalid tree size ${sizeText}`);
  const root = Buffer.from(rootText, 'base64');
  if (root.length !== HASH_SIZE || root.toString('base64') !== rootText) invalid('root hash is not base64 of 32 bytes');
  for (const line of extensions) if (line.length === 0) invalid('empty extension line');
  const checkpoint: Checkpoint = { origin, size: Number(sizeText), root };
  if (extensions.length > 0) checkpoint.extensions = extensions;
  return checkpoint;
}

/**
 * Signs a checkpoint with the log's note key: the signed note text.
 *
 * @example signCheckpoint({ origin: signer.name, size, root }, signer)
 */
export function signCheckpoint(checkpoint: Checkpoint, signer: NoteSigner): string {
  return signer.sign(formatCheckpoint(checkpoint));
}

/**
 * Checks a signed checkpoint against the log's public note key (and its origin, when given) and
 * reads it.
 *
 * @example const { size, root } = openCheckpoint(note, verifier, 'example.com/log');
 */
export function openCheckpoint(note: string, verifier: NoteVerifier, origin?: string): Checkpoint {
  const opened = openNote(note, [verifier]);
  const checkpoint = parseCheckpoint(opened.text);
  if (origin !== undefined && checkpoint.origin !== origin) {
    invalid(`checkpoint origin ${checkpoint.origin} is not ${origin}`);
  }
  return checkpoint;
}
