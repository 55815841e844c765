import { readFile } from 'node:fs/promises';
import { isEctError } from '../base/errors.js';

/** Exit codes of the `ect` command: a contract other tools rely on. */
export const EXIT = { ok: 0, invalid: 1, usage: 2, partial: 3 } as const;

/** A usage problem (bad flag value, unreadable file): exit 2 with a one-line message. */
export class UsageError extends Error {}

/** Where the command writes; injectable so tests can run the CLI in-process. */
export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  readStdin: () => Promise<string>;
}

/** The process's own streams. */
export const processIo: CliIo = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  readStdin: async () => {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  },
};

/** Reads a file given on the command line, turning I/O failures into a {@link UsageError}. */
export async function readInputFile(path: string, what: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (cause) {
    throw new UsageError(`cannot read ${what} ${path}: ${(cause as NodeJS.ErrnoException).code ?? String(cause)}`);
  }
}

/** Runs a loader whose typed failures (bad key file, …) are the user's input problem. */
export async function asUsage<T>(load: () => Promise<T>): Promise<T> {
  try {
    return await load();
  } catch (error) {
    if (isEctError(error)) throw new UsageError(error.message);
    throw error;
  }
}
