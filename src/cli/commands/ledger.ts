import { existsSync, readFileSync } from 'node:fs';
import { Command } from 'commander';
import { EctLedgerError, isEctError } from '../../base/errors.js';
import { loadVerificationKeysFrom } from '../../keys/files.js';
import { defaultLedgerDir, FileLedger } from '../../ledger/file-store.js';
import { NoteSigner, NoteVerifier } from '../../ledger/note.js';
import { ledgerKind, openLedgerForReading, type LedgerReader } from '../../ledger/open.js';
import { PgLedger } from '../../ledger/pg-store.js';
import { createLedgerServer } from '../../ledger/server.js';
import type { LedgerStore } from '../../ledger/store.js';
import { verifyReceipt } from '../../ledger/receipt.js';
import { EctVerifier } from '../../token/verify.js';
import { asUsage, EXIT, readInputFile, UsageError, type CliIo } from '../io.js';
import { ProgressLine } from '../progress.js';

interface DirOption {
  dir?: string;
  json?: boolean;
}

interface ReadOptions extends DirOption {
  store?: string;
  key?: string;
}

const DIR_HELP = 'ledger directory (default $ECT_HOME/ledger, ECT_HOME defaulting to .ect)';
const STORE_HELP =
  'the ledger: file:DIR, postgres://… or http(s)://ledger-server (default file:$ECT_HOME/ledger; --dir DIR is file:DIR)';
const KEY_HELP =
  "the ledger's public note key (name+hash+base64) or a file holding it: the checkpoint must be signed by it";

/** The store string of a read command: --store, or --dir as its file: shorthand. */
function storeSpec(options: ReadOptions): string {
  if (options.dir !== undefined && options.store !== undefined) throw new UsageError('give --store or --dir, not both');
  const spec = options.dir === undefined ? (options.store ?? `file:${defaultLedgerDir()}`) : `file:${options.dir}`;
  if (ledgerKind(spec) === undefined) throw new UsageError('--store is file:DIR, postgres://… or http(s)://…');
  return spec;
}

/**
 * Runs a read command on the ledger the options name. A ledger that cannot be opened is a usage
 * problem (exit 2); an entry, size or proof that is not there or does not check, and a checkpoint
 * not signed by --key, are an invalid answer (exit 1).
 */
async function readLedger(
  io: CliIo,
  setExit: (code: number) => void,
  options: ReadOptions,
  run: (ledger: LedgerReader) => Promise<void>,
): Promise<void> {
  const spec = storeSpec(options);
  const key = options.key === undefined ? undefined : readVerifierKey(options.key).toString();
  let reader: LedgerReader;
  try {
    reader = await openLedgerForReading(spec, key === undefined ? {} : { key });
  } catch (error) {
    if (isEctError(error)) throw new UsageError(error.message);
    throw error;
  }
  try {
    await run(reader);
  } catch (error) {
    if (!isEctError(error) || !INVALID_ANSWERS.has(error.code)) throw error;
    reportInvalid(io, options.json, error.code, error.message);
    setExit(EXIT.invalid);
  } finally {
    await reader.close();
  }
}

const INVALID_ANSWERS: ReadonlySet<string> = new Set([
  'ECT_LEDGER_NOT_FOUND',
  'ECT_LEDGER_NOTE_INVALID',
  'ECT_LEDGER_PROOF_INVALID',
]);

function openLedger(options: DirOption & { origin?: string }): FileLedger {
  return FileLedger.openSync({
    dir: options.dir ?? defaultLedgerDir(),
    ...(options.origin === undefined ? {} : { origin: options.origin }),
  });
}

function nonNegative(text: string, what: string): number {
  if (!/^(0|[1-9][0-9]*)$/.test(text) || !Number.isSafeInteger(Number(text)))
    throw new UsageError(`${what} must be a whole number`);
  return Number(text);
}

/** A verifier key given inline (`name+hash+base64`) or as a file holding it. */
function readVerifierKey(value: string): NoteVerifier {
  const text = existsSync(value) ? readFileSync(value, 'utf8') : value;
  try {
    return NoteVerifier.fromString(text);
  } catch (error) {
    throw new UsageError(`--key: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/** `ect ledger …` */
export function ledgerCommand(io: CliIo, setExit: (code: number) => void): Command {
  const ledger = new Command('ledger').description('the audit ledger: a transparency log of tokens (C2SP formats)');
  const out = (json: boolean | undefined, value: unknown, text: string) => {
    io.stdout(json ? `${JSON.stringify(value)}\n` : text.endsWith('\n') ? text : `${text}\n`);
  };
  const withReader = (options: ReadOptions, run: (log: LedgerReader) => Promise<void>) =>
    readLedger(io, setExit, options, run);

  ledger
    .command('append')
    .description('append tokens (one compact token per line) as one batch; prints their indexes and the new checkpoint')
    .argument('[files...]', 'files of tokens, or - (the default) for standard input')
    .option('--dir <dir>', DIR_HELP)
    .option('--origin <name>', 'origin (log name) of a new ledger')
    .option('--jwks <file|dir>', 'verify every token (audit mode) against these keys before appending')
    .option('--json', 'machine-readable output')
    .action(async (files: string[], options: DirOption & { origin?: string; jwks?: string }) => {
      const texts =
        files.length === 0 || (files.length === 1 && files[0] === '-')
          ? [await io.readStdin()]
          : await Promise.all(files.map(async (file) => (await readInputFile(file, 'token file')).toString('utf8')));
      const tokens = texts.flatMap((text) =>
        text
          .split('\n')
          .map((line) => line.trim())
          .filter((line) => line.length > 0),
      );
      if (tokens.length === 0) throw new UsageError('no tokens given');
      if (options.jwks !== undefined) {
        const jwks = options.jwks;
        const keys = await asUsage(() => loadVerificationKeysFrom(jwks));
        const verifier = new EctVerifier({ keys, audit: true });
        for (const [position, token] of tokens.entries()) {
          try {
            verifier.verifySync(token);
          } catch (error) {
            if (!isEctError(error)) throw error;
            reportInvalid(io, options.json, error.code, `token ${position}: ${error.message}`);
            setExit(EXIT.invalid);
            return;
          }
        }
      }
      const log = openLedger(options);
      try {
        const { indexes, checkpoint } = log.appendSync(tokens);
        out(
          options.json,
          { indexes, size: log.size, checkpoint },
          `appended ${indexes.length} at ${indexes[0]}…${indexes[indexes.length - 1]}\n${checkpoint}`,
        );
      } catch (error) {
        if (
          !(error instanceof EctLedgerError) ||
          error.code === 'ECT_LEDGER_CORRUPT' ||
          error.code === 'ECT_LEDGER_LOCKED'
        )
          throw error;
        reportInvalid(io, options.json, error.code, error.message);
        setExit(EXIT.invalid);
      } finally {
        log.close();
      }
    });

  ledger
    .command('get')
    .description('print a token by leaf index or jti; with --receipt, its receipt (JSON)')
    .argument('<index|jti>', 'leaf index (a number) or jti')
    .option('--store <spec>', STORE_HELP)
    .option('--dir <dir>', DIR_HELP)
    .option('--key <key|file>', KEY_HELP)
    .option('--receipt', 'print the receipt: token, leaf index, inclusion proof, signed checkpoint')
    .option('--json', 'machine-readable output')
    .action((key: string, options: ReadOptions & { receipt?: boolean }) =>
      withReader(options, async (log) => {
        const { size } = await log.head();
        const indexes = /^[0-9]+$/.test(key) ? [nonNegative(key, 'index')] : await log.indexesOf(key);
        const found = indexes.filter((index) => index < size);
        if (found.length === 0) throw new EctLedgerError('ECT_LEDGER_NOT_FOUND', `no entry ${key}`);
        for (const index of found) {
          if (options.receipt) io.stdout(`${JSON.stringify(await log.receipt(index))}\n`);
          else {
            const token = await log.entry(index);
            out(options.json, { leaf_index: index, token }, token);
          }
        }
      }),
    );

  ledger
    .command('proof')
    .description('inclusion proof of a leaf in the tree of the given size (default: the latest)')
    .argument('<index>', 'leaf index')
    .option('--size <n>', 'tree size (default: the latest checkpoint)')
    .option('--store <spec>', STORE_HELP)
    .option('--dir <dir>', DIR_HELP)
    .option('--key <key|file>', KEY_HELP)
    .option('--json', 'machine-readable output')
    .action((indexText: string, options: ReadOptions & { size?: string }) => {
      const index = nonNegative(indexText, 'index');
      const wanted = options.size === undefined ? undefined : nonNegative(options.size, '--size');
      return withReader(options, async (log) => {
        const size = wanted ?? (await log.head()).size;
        const hashes = (await log.inclusionProof(index, size)).map((h) => h.toString('base64'));
        const root = (await log.rootAt(size)).toString('base64');
        out(options.json, { leaf_index: index, tree_size: size, root, inclusion_proof: hashes }, hashes.join('\n'));
      });
    });

  ledger
    .command('consistency')
    .description('consistency proof from the tree of <old> entries to the tree of [new] (default: the latest)')
    .argument('<old>', 'older tree size')
    .argument('[new]', 'newer tree size')
    .option('--store <spec>', STORE_HELP)
    .option('--dir <dir>', DIR_HELP)
    .option('--key <key|file>', KEY_HELP)
    .option('--json', 'machine-readable output')
    .action((oldText: string, newText: string | undefined, options: ReadOptions) => {
      const oldSize = nonNegative(oldText, 'old size');
      const wanted = newText === undefined ? undefined : nonNegative(newText, 'new size');
      return withReader(options, async (log) => {
        const newSize = wanted ?? (await log.head()).size;
        const hashes = (await log.consistencyProof(oldSize, newSize)).map((h) => h.toString('base64'));
        out(
          options.json,
          {
            old_size: oldSize,
            new_size: newSize,
            old_root: (await log.rootAt(oldSize)).toString('base64'),
            new_root: (await log.rootAt(newSize)).toString('base64'),
            consistency_proof: hashes,
          },
          hashes.join('\n'),
        );
      });
    });

  ledger
    .command('key')
    .description(
      "print the ledger's public note key (name+hash+base64): what receipts are checked with; a ledger server does not publish it, so there --key is checked against its checkpoint and printed",
    )
    .option('--store <spec>', STORE_HELP)
    .option('--dir <dir>', DIR_HELP)
    .option('--key <key|file>', KEY_HELP)
    .option('--json', 'machine-readable output')
    .action((options: ReadOptions) =>
      withReader(options, async (log) => {
        const key = await log.verifierKey();
        if (key === undefined)
          throw new UsageError(
            'a ledger server does not publish its note key: ask its operator, and check it with --key',
          );
        const { origin } = await log.head();
        out(options.json, { key, origin }, key);
      }),
    );

  ledger
    .command('verify')
    .description(
      'recompute the whole tree from the entries, check every stored tile (and, in a directory, every index) and the signed checkpoint; names the first broken index; exit 0 valid, 1 invalid',
    )
    .option('--store <spec>', STORE_HELP)
    .option('--dir <dir>', DIR_HELP)
    .option('--key <key|file>', "trusted public note key (default: the ledger's own; required for a ledger server)")
    .option('--json', 'machine-readable output')
    .action((options: ReadOptions) => {
      if (ledgerKind(storeSpec(options)) === 'http' && options.key === undefined)
        throw new UsageError(
          "verifying a ledger server needs --key: its read paths do not carry the ledger's note key",
        );
      return withReader(options, async (log) => {
        const line = ProgressLine.forStderr(io, !options.json);
        const audit = await log.audit(
          line.shown
            ? {
                onProgress: (done, total) =>
                  line.update({ label: 'verifying', done, total, count: { value: done, unit: 'entries' } }),
              }
            : {},
        );
        line.done();
        setExit(audit.ok ? EXIT.ok : EXIT.invalid);
        if (options.json) {
          io.stdout(`${JSON.stringify(audit)}\n`);
          return;
        }
        const lines = [
          `verdict: ${audit.ok ? 'VALID' : 'INVALID'} (${audit.entries} entries, checkpoint size ${audit.checkpointSize ?? '?'}, origin ${audit.origin ?? '?'})`,
        ];
        if (options.key === undefined)
          lines.push(
            `note key: the ledger's own (${log.kind === 'file' ? 'note.pub' : 'as the database records it'}); pass --key to check against a key you trust`,
          );
        if (audit.firstBrokenIndex !== undefined) lines.push(`first broken index: ${audit.firstBrokenIndex}`);
        for (const p of audit.problems)
          lines.push(`  FAIL ${p.index === undefined ? '' : `at ${p.index} `}${p.where}: ${p.code}: ${p.message}`);
        io.stdout(`${lines.join('\n')}\n`);
      });
    });

  ledger
    .command('verify-receipt')
    .description('check a receipt offline with only the ledger public note key; exit 0 valid, 1 invalid')
    .argument('[file]', 'receipt JSON file, or - (the default) for standard input')
    .requiredOption('--key <key|file>', 'public note key of the ledger (name+hash+base64), or a file holding it')
    .option('--origin <name>', 'require this checkpoint origin')
    .option('--json', 'machine-readable output')
    .action(async (file: string | undefined, options: { key: string; origin?: string; json?: boolean }) => {
      const text =
        file === undefined || file === '-'
          ? await io.readStdin()
          : (await readInputFile(file, 'receipt')).toString('utf8');
      const verifier = readVerifierKey(options.key);
      try {
        const head = verifyReceipt(text, verifier, options.origin);
        out(
          options.json,
          {
            valid: true,
            leaf_index: head.index,
            tree_size: head.size,
            origin: head.origin,
            root: head.root.toString('base64'),
          },
          `valid: leaf ${head.index} is in ${head.origin} at tree size ${head.size}`,
        );
      } catch (error) {
        if (!isEctError(error)) throw error;
        reportInvalid(io, options.json, error.code, error.message);
        setExit(EXIT.invalid);
      }
    });
  ledger
    .command('serve')
    .description(
      'serve the ledger over HTTP: POST /v1/entries, GET /v1/entries/{jti}, GET /checkpoint and /tile/…, GET /healthz; runs until SIGINT/SIGTERM',
    )
    .option('--store <file:DIR|postgres://…>', 'the store (default file:$ECT_HOME/ledger)')
    .option('--note-key <file>', 'note signing key (PRIVATE+KEY+…) of a postgres store, the same on every instance')
    .option('--origin <name>', 'origin (log name) of a new file ledger')
    .requiredOption('--jwks <file|dir>', 'keys that appended tokens must verify against (audit mode)')
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--port <port>', 'port (0: any free port)', '8080')
    .option(
      '--write-token-file <file>',
      'bearer tokens allowed to append, one per line (# comments); without it anyone who can reach the server may append verified tokens',
    )
    .option('--json', 'print the listening address as JSON')
    .action(
      async (options: {
        store?: string;
        noteKey?: string;
        origin?: string;
        jwks: string;
        host: string;
        port: string;
        writeTokenFile?: string;
        json?: boolean;
      }) => {
        const keys = await asUsage(() => loadVerificationKeysFrom(options.jwks));
        let writeTokens: string[] | undefined;
        if (options.writeTokenFile !== undefined) {
          writeTokens = (await readInputFile(options.writeTokenFile, 'write token file'))
            .toString('utf8')
            .split(/\r?\n/)
            .map((line) => line.trim())
            .filter((line) => line !== '' && !line.startsWith('#'));
          if (writeTokens.length === 0) throw new UsageError(`${options.writeTokenFile} holds no write token`);
        }
        const spec = options.store ?? `file:${defaultLedgerDir()}`;
        let store: LedgerStore;
        let close: () => Promise<void> | void;
        if (spec.startsWith('postgres://') || spec.startsWith('postgresql://')) {
          if (options.noteKey === undefined) throw new UsageError('a postgres store needs --note-key');
          const signer = NoteSigner.fromString((await readInputFile(options.noteKey, 'note key')).toString('utf8'));
          const pgLedger = await PgLedger.open({ url: spec, signer });
          store = pgLedger;
          close = () => pgLedger.close();
        } else if (spec.startsWith('file:')) {
          const fileLedger = openLedger({
            dir: spec.slice('file:'.length),
            ...(options.origin === undefined ? {} : { origin: options.origin }),
          });
          store = fileLedger;
          close = () => fileLedger.close();
        } else {
          throw new UsageError('--store is file:DIR or postgres://…');
        }
        const server = createLedgerServer({ store, keys, ...(writeTokens === undefined ? {} : { writeTokens }) });
        await new Promise<void>((resolve) => server.listen(nonNegative(options.port, '--port'), options.host, resolve));
        const address = server.address();
        const url =
          typeof address === 'object' && address !== null ? `http://${options.host}:${address.port}` : String(address);
        const verifierKey = store instanceof FileLedger || store instanceof PgLedger ? store.verifierKey : '';
        out(options.json, { url, key: verifierKey }, `listening on ${url}\nnote key: ${verifierKey}`);
        await new Promise<void>((resolve) => {
          const stop = () => server.close(() => resolve());
          process.once('SIGINT', stop);
          process.once('SIGTERM', stop);
        });
        await close();
      },
    );
  return ledger;
}

function reportInvalid(io: CliIo, json: boolean | undefined, code: string, message: string): void {
  if (json) io.stdout(`${JSON.stringify({ valid: false, code, message })}\n`);
  else io.stderr(`invalid: ${code}: ${message}\n`);
}
