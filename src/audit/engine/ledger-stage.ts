import { isEctError } from '../../base/errors.js';
import { type Checkpoint, openCheckpoint, parseCheckpoint } from '../../ledger/checkpoint.js';
import { emptyRoot, leafHash, nodeHash } from '../../ledger/merkle/hash.js';
import { NoteVerifier } from '../../ledger/note.js';
import { verifyReceipt } from '../../ledger/receipt.js';
import { AUDIT_CODE } from '../codes.js';
import type { LedgerReader } from '../sources/ledger.js';
import type { Findings } from './findings.js';

/**
 * The RFC 9162 root of a log read leaf by leaf, holding one hash per level (O(log n) memory): the
 * complete subtrees so far, largest first, folded right to left when a root is asked for.
 *
 * @example const tree = new StreamingTree(); tree.push(leafHash(entry)); tree.root();
 */
export class StreamingTree {
  readonly #stack: { hash: Buffer; size: number }[] = [];
  size = 0;

  push(leaf: Buffer): void {
    let node = { hash: leaf, size: 1 };
    for (let top = this.#stack.at(-1); top !== undefined && top.size === node.size; top = this.#stack.at(-1)) {
      this.#stack.pop();
      node = { hash: nodeHash(top.hash, node.hash), size: top.size * 2 };
    }
    this.#stack.push(node);
    this.size++;
  }

  root(): Buffer {
    if (this.#stack.length === 0) return emptyRoot();
    let root = (this.#stack.at(-1) as { hash: Buffer }).hash;
    for (let i = this.#stack.length - 2; i >= 0; i--) root = nodeHash((this.#stack[i] as { hash: Buffer }).hash, root);
    return root;
  }
}

/** What the ledger stage established, for the report. */
export interface LedgerOutcome {
  /** The ledger's checkpoint as read (verified when `signed`). */
  checkpoint: Checkpoint | undefined;
  note: string | undefined;
  /** The checkpoint's signature was checked with a note key. */
  signed: boolean;
  /** Where the key came from. */
  keySource: 'given' | 'ledger' | 'none';
  /** Every entry hashed back to the checkpoint's root. */
  rootMatches: boolean;
  entries: number;
  receiptsChecked: number;
  /** The saved checkpoint was checked (`--since-checkpoint`). */
  consistencyChecked: boolean;
  /** The stage could read the ledger at all. */
  readable: boolean;
}

/** Options of {@link readLedger}. */
export interface LedgerStageOptions {
  reader: LedgerReader;
  /** The ledger's public note key (`name+hash+base64`); default the one the store keeps. */
  key?: string;
  /** A signed checkpoint the auditor saved earlier. */
  since?: string;
  findings: Findings;
  /** Called with each entry, in order, and the number of entries the checkpoint covers. */
  onEntry: (token: string, index: number, entries: number) => Promise<void>;
  signal?: AbortSignal;
}

/**
 * Reads the ledger: checks its checkpoint's signature, streams every entry (handing each to
 * `onEntry`) while hashing them back to the checkpoint's root, so every entry's inclusion in the
 * signed tree is proven at O(n) hashes instead of one proof per token, and checks the receipts the
 * ledger serves for its first and last entries. With a saved checkpoint (`since`), the first
 * `since.size` entries must hash to its root: a ledger truncated behind it, or rewritten, fails.
 *
 * @example const outcome = await readLedger({ reader, findings, onEntry: async (t) => index(t) });
 */
export async function readLedger(options: LedgerStageOptions): Promise<LedgerOutcome> {
  const { reader, findings } = options;
  const outcome: LedgerOutcome = {
    checkpoint: undefined,
    note: undefined,
    signed: false,
    keySource: 'none',
    rootMatches: false,
    entries: 0,
    receiptsChecked: 0,
    consistencyChecked: false,
    readable: false,
  };
  const where = `${reader.kind} ${reader.location}`;
  let verifier: NoteVerifier | undefined;
  try {
    const note = await reader.checkpoint();
    outcome.note = note;
    const key = options.key ?? (await reader.ownKey());
    outcome.keySource = options.key !== undefined ? 'given' : key !== undefined ? 'ledger' : 'none';
    if (key === undefined) {
      outcome.checkpoint = parseCheckpoint(note.slice(0, note.indexOf('\n\n') + 1));
      findings.partial(
        'ledger-inclusion',
        AUDIT_CODE.ledgerUnsigned,
        `${where} offers no note key and none was given (--ledger-key): its checkpoint signature was not checked`,
        [],
      );
    } else {
      verifier = NoteVerifier.fromString(key.trim());
      try {
        outcome.checkpoint = openCheckpoint(note, verifier);
        outcome.signed = true;
      } catch (error) {
        if (!isEctError(error)) throw error;
        findings.fail('ledger-inclusion', AUDIT_CODE.ledgerCheckpoint, `${where}: checkpoint: ${error.message}`, []);
        return outcome;
      }
    }
  } catch (error) {
    findings.fail(
      'ledger-inclusion',
      isEctError(error) ? error.code : AUDIT_CODE.ledgerUnreadable,
      `${where}: ${messageOf(error)}`,
      [],
    );
    return outcome;
  }
  const head = outcome.checkpoint as Checkpoint;

  let since: Checkpoint | undefined;
  if (options.since !== undefined) {
    try {
      since =
        verifier === undefined
          ? parseCheckpoint(options.since.slice(0, options.since.indexOf('\n\n') + 1))
          : openCheckpoint(options.since, verifier);
    } catch (error) {
      findings.fail(
        'ledger-consistency',
        AUDIT_CODE.ledgerInconsistent,
        `the saved checkpoint does not verify with the ledger's note key: ${messageOf(error)}`,
        [],
      );
    }
    if (since !== undefined) {
      outcome.consistencyChecked = true;
      if (since.origin !== head.origin)
        findings.fail(
          'ledger-consistency',
          AUDIT_CODE.ledgerInconsistent,
          `the saved checkpoint is of log ${since.origin}, the ledger is ${head.origin}`,
          [],
        );
      else if (since.size > head.size)
        findings.fail(
          'ledger-consistency',
          AUDIT_CODE.ledgerInconsistent,
          `${where} holds ${head.size} entries, but the auditor saw a checkpoint of ${since.size}: the ledger was truncated (entries ${head.size}…${since.size - 1} are gone)`,
          [],
          [],
          `ledger:#${head.size}`,
        );
      else if (since.size === 0 && !since.root.equals(emptyRoot()))
        findings.fail(
          'ledger-consistency',
          AUDIT_CODE.ledgerInconsistent,
          'the saved checkpoint of size 0 has a non-empty root',
          [],
        );
    }
  }

  const tree = new StreamingTree();
  let first: string | undefined;
  let last: string | undefined;
  try {
    for await (const token of reader.entries(head.size, options.signal)) {
      const index = tree.size;
      tree.push(leafHash(Buffer.from(token, 'utf8')));
      if (since !== undefined && tree.size === since.size && since.size <= head.size && since.origin === head.origin) {
        if (!tree.root().equals(since.root))
          findings.fail(
            'ledger-consistency',
            AUDIT_CODE.ledgerInconsistent,
            `the first ${since.size} entries of ${where} do not hash to the root of the checkpoint the auditor saved: the ledger was rewritten`,
            [],
          );
      }
      if (index === 0) first = token;
      last = token;
      await options.onEntry(token, index, head.size);
    }
    outcome.readable = true;
  } catch (error) {
    findings.fail(
      'ledger-inclusion',
      isEctError(error) ? error.code : AUDIT_CODE.ledgerUnreadable,
      `${where}: entry ${tree.size}: ${messageOf(error)}`,
      [],
      [],
      `ledger:#${tree.size}`,
    );
    return outcome;
  }
  outcome.entries = tree.size;
  if (tree.size !== head.size || !tree.root().equals(head.root)) {
    findings.fail(
      'ledger-inclusion',
      AUDIT_CODE.ledgerRoot,
      `the ${tree.size} entries of ${where} do not hash to the root of its signed checkpoint (size ${head.size}): its entries were altered`,
      [],
    );
    return outcome;
  }
  outcome.rootMatches = true;
  for (const token of new Set([first, last])) {
    if (token === undefined || verifier === undefined) continue;
    const jti = jtiOf(token);
    if (jti === undefined) continue;
    for (const receipt of await reader.receipts(jti).catch(() => [])) {
      if (receipt.token !== token) continue;
      outcome.receiptsChecked++;
      try {
        verifyReceipt(receipt, verifier, head.origin);
      } catch (error) {
        findings.fail(
          'ledger-inclusion',
          AUDIT_CODE.ledgerReceipt,
          `${where} serves a receipt for ${jti} that does not verify: ${messageOf(error)}`,
          [jti],
          [],
          `ledger:#${receipt.leaf_index}`,
        );
      }
    }
  }
  return outcome;
}

function jtiOf(token: string): string | undefined {
  try {
    const payload = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as {
      jti?: unknown;
    };
    return typeof payload.jti === 'string' ? payload.jti : undefined;
  } catch {
    return undefined;
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
