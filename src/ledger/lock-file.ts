import { linkSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { EctLedgerError } from '../base/errors.js';

/**
 * Takes the lock file at `path` for this process: a file holding the holder's pid. A lock whose
 * holder is dead (a crash) is taken over. The pid is written to a file of our own first and
 * hard-linked into place, so a competitor never reads a half-written lock: with a plain
 * `open(wx)` + write, a second process could read it empty, judge it stale and take it too.
 * Throws `ECT_LEDGER_LOCKED` when a live process holds it.
 *
 * @example takeLockFile('ledger/lock'); try { … } finally { releaseLockFile('ledger/lock'); }
 */
export function takeLockFile(path: string): void {
  const own = `${path}.${process.pid}`;
  writeFileSync(own, String(process.pid));
  try {
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        linkSync(own, path);
        return;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
      const holder = lockHolder(path);
      if (holder !== undefined && holder !== process.pid && isAlive(holder)) {
        throw new EctLedgerError('ECT_LEDGER_LOCKED', `${path} is held by process ${holder}`);
      }
      // The holder died (or is this process, after an unclean close): the lock is stale.
      rmSync(path, { force: true });
    }
    throw new EctLedgerError('ECT_LEDGER_LOCKED', `could not take ${path}`);
  } finally {
    rmSync(own, { force: true });
  }
}

/**
 * Releases a lock taken by {@link takeLockFile}, if this process still holds it.
 *
 * @example releaseLockFile('ledger/lock');
 */
export function releaseLockFile(path: string): void {
  if (lockHolder(path) === process.pid) rmSync(path, { force: true });
}

/**
 * The pid in a lock file, or undefined when there is none (or it is unreadable).
 *
 * @example lockHolder('ledger/lock') // 4242
 */
export function lockHolder(path: string): number | undefined {
  try {
    const pid = Number(readFileSync(path, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Whether a process with this pid exists (EPERM: it does, owned by someone else).
 *
 * @example isAlive(process.pid) // true
 */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
