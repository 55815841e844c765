// A PostgreSQL ledger writer for the concurrency tests: appends its share of tokens (file, one per
// line) in batches of 1–24 and prints `ack <first index> <count> <first token line>` after each
// acknowledged batch. While the server is unreachable it retries; a batch whose commit was lost
// with the connection is found again by jti. It then tries the shared token (`shared <outcome>`).
import { readFileSync } from 'node:fs';
import { NoteSigner, PgLedger } from '../../dist/ledger/index.js';

const [url, keyFile, tokenFile, from, to, shared] = process.argv.slice(2);
const tokens = readFileSync(tokenFile, 'utf8').trim().split('\n');
const signer = NoteSigner.fromString(readFileSync(keyFile, 'utf8'));
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const deadline = Date.now() + 90_000;

async function retrying(run) {
  for (;;) {
    try {
      return await run();
    } catch (error) {
      if (error?.code?.startsWith?.('ECT_') || Date.now() > deadline) throw error;
      await sleep(100);
    }
  }
}

const ledger = await retrying(() => PgLedger.open({ url, signer, poolSize: 2 }));
let at = Number(from);
while (at < Number(to)) {
  const batch = tokens.slice(at, Math.min(Number(to), at + 1 + Math.floor(Math.random() * 24)));
  const jti = JSON.parse(Buffer.from(batch[0].split('.')[1], 'base64url')).jti;
  let first;
  try {
    ({
      indexes: [first],
    } = await retrying(() => ledger.append(batch)));
  } catch (error) {
    if (error.code !== 'ECT_LEDGER_DUPLICATE') throw error;
    // Committed, but the answer was lost with the connection: it is there, at its index.
    [first] = await retrying(() => ledger.indexesOf(jti));
  }
  process.stdout.write(`ack ${first} ${batch.length} ${at}\n`);
  at += batch.length;
}
try {
  await retrying(() => ledger.append([shared]));
  process.stdout.write('shared appended\n');
} catch (error) {
  process.stdout.write(`shared ${error.code}\n`);
}
await ledger.close();
