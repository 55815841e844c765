// Ledger benchmark: appends/s of the file store for batches of 1, 64 and 1,024 (each against the
// floor this disk sets: a raw write + fdatasync of the same bytes), inclusion and consistency proof
// time at 1M entries, full audit time, and bytes per entry on disk against the token's size.
//
//   npm run build && node --expose-gc test/bench/ledger.bench.mjs [--entries 1000000] [--no-pg]
//
// The PostgreSQL part starts a throw-away server with test/ledger/pg/postgres.sh (Debian's
// package, temporary data directory, 127.0.0.1) and measures 1 and 8 concurrent writers.
//
// Tokens: a pool of real ES256 tokens sets the size; the bulk entries re-use a real token's header
// and signature with a fresh payload (unique jti) of the same length, because signing a million
// tokens would measure the signer, and the ledger records bytes without verifying signatures.
import { closeSync, fdatasyncSync, mkdtempSync, openSync, readdirSync, rmSync, statSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EctSigner, newClaims } from '../../dist/token/index.js';
import { generateSigningKey } from '../../dist/keys/index.js';
import { spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import {
  FileLedger,
  NoteSigner,
  PgLedger,
  auditLedger,
  verifyInclusion,
  verifyConsistency,
  leafHash,
} from '../../dist/ledger/index.js';

const argEntries = process.argv.indexOf('--entries');
const TOTAL = argEntries > 0 ? Number(process.argv[argEntries + 1]) : 1_000_000;
const work = mkdtempSync(join(tmpdir(), 'ect-ledger-bench-'));
process.on('exit', () => rmSync(work, { recursive: true, force: true }));

const signer = new EctSigner(generateSigningKey('ES256'));
const sample = signer.sign(
  newClaims({
    iss: 'spiffe://example.org/ns/prod/sa/payments',
    aud: 'spiffe://example.org',
    exec_act: 'charge_card',
    wid: '0190b7a4-8d6e-7cc4-9a7e-3c1f5b2d4e6f',
    pred: ['3f2504e0-4f89-41d3-9a0c-0305e82c3301'],
  }),
);
const [header, payloadB64, signature] = sample.split('.');
const payload = JSON.parse(Buffer.from(payloadB64, 'base64url').toString());
let serial = 0;
/** A token shaped like `sample`, with a jti no other has (same length: the jti is a fixed-width UUID). */
function nextToken() {
  const n = (serial++).toString(16).padStart(12, '0');
  const jti = `${payload.jti.slice(0, 24)}${n}`;
  return `${header}.${Buffer.from(JSON.stringify({ ...payload, jti })).toString('base64url')}.${signature}`;
}
const tokenBytes = Buffer.byteLength(sample);

function dirBytes(dir) {
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    total += entry.isDirectory() ? dirBytes(path) : statSync(path).size;
  }
  return total;
}

const median = (values) => values.sort((a, b) => a - b)[Math.floor(values.length / 2)];
const fmt = (n, digits = 0) =>
  n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

// 1. Appends/s per batch size, against raw write+fdatasync of the same bytes (5 interleaved rounds).
const batchSizes = [1, 64, 1024];
const rounds = 5;
const ms = 600;
const samples = new Map();
for (let round = 0; round < rounds; round++) {
  for (const batch of batchSizes) {
    const dir = join(work, `append-${batch}-${round}`);
    const ledger = FileLedger.openSync({ dir, origin: 'bench.example/ledger' });
    const batches = Array.from({ length: Math.max(1, Math.ceil((20_000 * ms) / 1000 / batch)) }, () =>
      Array.from({ length: batch }, nextToken),
    );
    globalThis.gc?.();
    let appended = 0;
    const started = process.hrtime.bigint();
    const deadline = started + BigInt(ms) * 1_000_000n;
    for (const tokens of batches) {
      if (process.hrtime.bigint() >= deadline) break;
      ledger.appendSync(tokens);
      appended += tokens.length;
    }
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    ledger.close();
    rmSync(dir, { recursive: true, force: true });
    push(`ledger, batch ${batch}`, appended / seconds);

    // Floor: the same bytes appended to one file with one fdatasync per batch.
    const raw = join(work, `raw-${batch}-${round}`);
    const fd = openSync(raw, 'a');
    const chunk = Buffer.alloc(batch * (tokenBytes + 90), 1);
    let rawAppended = 0;
    const rawStarted = process.hrtime.bigint();
    const rawDeadline = rawStarted + BigInt(ms) * 1_000_000n;
    while (process.hrtime.bigint() < rawDeadline) {
      writeSync(fd, chunk);
      fdatasyncSync(fd);
      rawAppended += batch;
    }
    push(`raw write+fdatasync, batch ${batch}`, rawAppended / (Number(process.hrtime.bigint() - rawStarted) / 1e9));
    closeSync(fd);
    rmSync(raw, { force: true });
  }
}
function push(name, value) {
  if (!samples.has(name)) samples.set(name, []);
  samples.get(name).push(value);
}
console.log(`\nFile ledger appends (token ${tokenBytes} bytes; median of ${rounds} interleaved rounds of ${ms} ms)`);
console.log('| batch | ledger appends/s | raw write+fdatasync entries/s | ratio ledger / raw |');
console.log('|---:|---:|---:|---:|');
for (const batch of batchSizes) {
  const ledger = median(samples.get(`ledger, batch ${batch}`));
  const raw = median(samples.get(`raw write+fdatasync, batch ${batch}`));
  console.log(`| ${batch} | ${fmt(ledger)} | ${fmt(raw)} | ${(ledger / raw).toFixed(2)}× |`);
}

// 2. A ledger of TOTAL entries: build time, proof times, audit time, bytes per entry.
const bigDir = join(work, 'big');
const big = FileLedger.openSync({ dir: bigDir, origin: 'bench.example/ledger' });
const buildStarted = process.hrtime.bigint();
const checkpoints = [];
while (big.size < TOTAL) {
  const tokens = Array.from({ length: Math.min(4096, TOTAL - big.size) }, nextToken);
  big.appendSync(tokens);
  checkpoints.push({ size: big.size, root: big.root });
}
const buildSeconds = Number(process.hrtime.bigint() - buildStarted) / 1e9;
const size = big.size;
const root = big.root;

const inclusionTimes = [];
const verifyTimes = [];
for (let i = 0; i < 2000; i++) {
  const index = Math.floor(Math.random() * size);
  const t0 = process.hrtime.bigint();
  const proof = big.inclusionProof(index);
  const t1 = process.hrtime.bigint();
  verifyInclusion(leafHash(Buffer.from(big.entry(index))), index, size, proof, root);
  const t2 = process.hrtime.bigint();
  inclusionTimes.push(Number(t1 - t0) / 1e6);
  verifyTimes.push(Number(t2 - t1) / 1e6);
}
const consistencyTimes = [];
for (let i = 0; i < 2000; i++) {
  const old = checkpoints[Math.floor(Math.random() * (checkpoints.length - 1))];
  const t0 = process.hrtime.bigint();
  const proof = big.consistencyProof(old.size);
  consistencyTimes.push(Number(process.hrtime.bigint() - t0) / 1e6);
  verifyConsistency(old.size, size, proof, old.root, root);
}
const receiptStarted = process.hrtime.bigint();
for (let i = 0; i < 1000; i++) big.receipt(Math.floor(Math.random() * size));
const receiptMs = Number(process.hrtime.bigint() - receiptStarted) / 1e6 / 1000;
big.close();

const reopenStarted = process.hrtime.bigint();
FileLedger.openSync({ dir: bigDir }).close();
const reopenSeconds = Number(process.hrtime.bigint() - reopenStarted) / 1e9;
const auditStarted = process.hrtime.bigint();
const audit = auditLedger(bigDir);
const auditSeconds = Number(process.hrtime.bigint() - auditStarted) / 1e9;
if (!audit.ok) throw new Error(`audit failed: ${JSON.stringify(audit.problems[0])}`);
const bytes = dirBytes(bigDir);
// Reopening at a later turn of the writer lock, as FileLedgerTarget does when services share the
// directory: the index of the turn before is taken over (FileLedgerOptions.resume), and only what
// another writer appended meanwhile (1,024 entries here) is read.
const earlier = FileLedger.openSync({ dir: bigDir });
earlier.close();
const otherWriter = FileLedger.openSync({ dir: bigDir });
otherWriter.appendSync(Array.from({ length: 1024 }, nextToken));
otherWriter.close();
const resumeStarted = process.hrtime.bigint();
FileLedger.openSync({ dir: bigDir, resume: earlier }).close();
const resumeMs = Number(process.hrtime.bigint() - resumeStarted) / 1e6;
const p99 = (values) => values.sort((a, b) => a - b)[Math.floor(values.length * 0.99)];

console.log(`\nLedger of ${fmt(size)} entries`);
console.log('| what | measured |');
console.log('|---|---:|');
console.log(`| build (batches of 4,096) | ${fmt(buildSeconds, 1)} s (${fmt(size / buildSeconds)} appends/s) |`);
console.log(
  `| inclusion proof, median / p99 | ${fmt(median(inclusionTimes), 3)} / ${fmt(p99(inclusionTimes), 3)} ms |`,
);
console.log(`| inclusion proof verify, median | ${fmt(median(verifyTimes), 3)} ms |`);
console.log(
  `| consistency proof, median / p99 | ${fmt(median(consistencyTimes), 3)} / ${fmt(p99(consistencyTimes), 3)} ms |`,
);
console.log(`| receipt (entry + proof + checkpoint) | ${fmt(receiptMs, 3)} ms |`);
console.log(`| reopen (recovery checks, jti index load) | ${fmt(reopenSeconds, 2)} s |`);
console.log(
  `| reopen at a later turn of the lock (index taken over, 1,024 new entries read) | ${fmt(resumeMs, 1)} ms |`,
);
console.log(`| full audit (ect ledger verify) | ${fmt(auditSeconds, 1)} s |`);
console.log(
  `| bytes on disk per entry / token bytes | ${fmt(bytes / size, 1)} / ${tokenBytes} = ${(bytes / size / tokenBytes).toFixed(2)}× |`,
);

// 3. PostgreSQL store: 1 and 8 concurrent writers (appends serialise on the ledger's advisory lock).
if (!process.argv.includes('--no-pg')) {
  const script = fileURLToPath(new URL('../ledger/pg/postgres.sh', import.meta.url));
  const port = await new Promise((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port: free } = probe.address();
      probe.close(() => resolve(free));
    });
  });
  const data = join(work, 'pg');
  const started = spawnSync('bash', [script, 'start', data, String(port)], { encoding: 'utf8' });
  if (started.status !== 0) {
    console.log(`\nPostgreSQL part skipped: ${started.stderr.trim()}`);
  } else {
    try {
      const url = started.stdout.trim();
      const rows = [];
      for (const writers of [1, 8]) {
        for (const batch of [1, 64, 1024]) {
          const ledger = await PgLedger.open({
            url,
            signer: NoteSigner.generate('bench.example/pg'),
            poolSize: writers,
          });
          const seconds = 3;
          const deadline = Date.now() + seconds * 1000;
          let appended = 0;
          const t0 = process.hrtime.bigint();
          await Promise.all(
            Array.from({ length: writers }, async () => {
              while (Date.now() < deadline) {
                const tokens = Array.from({ length: batch }, nextToken);
                await ledger.append(tokens);
                appended += batch;
              }
            }),
          );
          rows.push({ writers, batch, rate: appended / (Number(process.hrtime.bigint() - t0) / 1e9) });
          await ledger.close();
          // A fresh database for each row: drop the tables.
          const { default: pg } = await import('pg');
          const client = new pg.Client({ connectionString: url });
          await client.connect();
          await client.query(
            'DROP TABLE ect_ledger_meta, ect_ledger_entries, ect_ledger_nodes, ect_ledger_checkpoints',
          );
          await client.end();
        }
      }
      console.log('\nPostgreSQL ledger appends (3 s per row, one server on this machine)');
      console.log('| writers | batch | appends/s |');
      console.log('|---:|---:|---:|');
      for (const r of rows) console.log(`| ${r.writers} | ${r.batch} | ${fmt(r.rate)} |`);
    } finally {
      spawnSync('bash', [script, 'stop', data, 'immediate']);
    }
  }
}
