// A ledger writer for the crash test: appends the tokens of a file (one per line) in batches of
// 1–64, resuming at the ledger's size, and prints `ack <size>` after each acknowledged batch.
// The test kills it with SIGKILL at a random moment.
import { readFileSync } from 'node:fs';
import { FileLedger } from '../../dist/ledger/index.js';

const [dir, tokenFile] = process.argv.slice(2);
const tokens = readFileSync(tokenFile, 'utf8').trim().split('\n');
const ledger = FileLedger.openSync({ dir });
process.stdout.write(`open ${ledger.size}\n`);
let at = ledger.size;
while (at < tokens.length) {
  const batch = tokens.slice(at, at + 1 + Math.floor(Math.random() * 64));
  const { indexes } = ledger.appendSync(batch);
  at = indexes[indexes.length - 1] + 1;
  process.stdout.write(`ack ${at}\n`);
}
ledger.close();
process.stdout.write('done\n');
