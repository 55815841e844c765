/** Fixtures for the ledger tests: real signed tokens and temporary ledger directories. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach } from 'vitest';
import { sharedIssuer, validClaims, WID } from './ect.js';

/** `count` distinct real tokens (ES256), in one workflow unless `wid` says otherwise. */
export function makeTokens(count: number, wid: string = WID): string[] {
  const { signer } = sharedIssuer();
  return Array.from({ length: count }, (_, i) => signer.sign(validClaims({ wid, exec_act: `step_${i}` })));
}

const made: string[] = [];
afterEach(() => {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A fresh temporary directory, removed after the test. */
export function tempDir(prefix = 'ect-ledger-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  made.push(dir);
  return dir;
}
