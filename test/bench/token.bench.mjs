// Token benchmark (npm run bench): signing and verification side by side with jose, fast-jwt and
// raw node:crypto on the same bytes, then DAG validation growth from 100k to 1M tokens.
// Targets of this bench: sign ≥ 0.9× raw and ≥ 3× jose SignJWT; verify ≥ 0.85× raw; DAG 10× tokens ≤ 12× time.
import { execFileSync } from 'node:child_process';
import { sign as cryptoSign, verify as cryptoVerify, randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { createSigner, createVerifier } from 'fast-jwt';
import { SignJWT, jwtVerify } from 'jose';
import { EctSigner, EctVerifier, newClaims } from '../../dist/token/index.js';
import { generateSigningKey, JwksResolver, verificationKeyOf } from '../../dist/keys/index.js';
import { validateDag } from '../../dist/dag/index.js';
import { compare, printTable } from './harness.mjs';

const self = fileURLToPath(import.meta.url);

if (process.argv[2] === '--dag') {
  dagChild(Number(process.argv[3]));
} else {
  await tokenBench();
  dagBench();
}

async function tokenBench() {
  const key = generateSigningKey('ES256');
  const publicKey = verificationKeyOf(key).publicKey;
  const privatePem = key.privateKey.export({ format: 'pem', type: 'pkcs8' });
  const publicPem = publicKey.export({ format: 'pem', type: 'spki' });
  const claims = newClaims({
    iss: 'spiffe://example.org/ns/prod/sa/payments',
    aud: 'spiffe://example.org',
    exec_act: 'execute_tool:get_weather',
    pred: [randomUUID(), randomUUID()],
    wid: randomUUID(),
    ect_ext: {
      'org.opentelemetry.span': { trace_id: '0af7651916cd43dd8448eb211c80319c', span_id: 'b7ad6b7169203331' },
    },
  });
  const signer = new EctSigner(key);
  const token = signer.sign(claims);
  const [signingInput, , signatureB64] = [
    token.slice(0, token.lastIndexOf('.')),
    null,
    token.slice(token.lastIndexOf('.') + 1),
  ];
  const inputBytes = Buffer.from(signingInput);
  const signature = Buffer.from(signatureB64, 'base64url');
  const header = { alg: 'ES256', typ: 'exec+jwt', kid: key.kid };

  const fastSign = createSigner({
    key: privatePem,
    algorithm: 'ES256',
    kid: key.kid,
    header: { typ: 'exec+jwt' },
    noTimestamp: true,
  });
  const sign = await compare([
    {
      name: 'raw node:crypto sign',
      fn: () => cryptoSign('sha256', inputBytes, { key: key.privateKey, dsaEncoding: 'ieee-p1363' }),
    },
    { name: 'EctSigner.sign (ours)', fn: () => signer.sign(claims) },
    { name: 'fast-jwt createSigner', fn: () => fastSign(claims) },
    {
      name: 'jose SignJWT',
      isAsync: true,
      fn: () => new SignJWT(claims).setProtectedHeader(header).sign(key.privateKey),
    },
  ]);
  printTable('ES256 sign, tokens/s', sign, 'raw node:crypto sign');

  const verifier = new EctVerifier({
    keys: new JwksResolver([verificationKeyOf(key)]),
    audience: 'spiffe://example.org',
  });
  const fastVerify = createVerifier({ key: publicPem, algorithms: ['ES256'], cache: false });
  const verify = await compare([
    {
      name: 'raw node:crypto verify',
      fn: () => cryptoVerify('sha256', inputBytes, { key: publicKey, dsaEncoding: 'ieee-p1363' }, signature),
    },
    { name: 'EctVerifier.verifySync (ours)', fn: () => verifier.verifySync(token) },
    { name: 'EctVerifier.verify (jose path)', isAsync: true, fn: () => verifier.verify(token) },
    { name: 'fast-jwt createVerifier', fn: () => fastVerify(token) },
    {
      name: 'jose jwtVerify',
      isAsync: true,
      fn: () => jwtVerify(token, publicKey, { typ: 'exec+jwt', algorithms: ['ES256'] }),
    },
  ]);
  printTable('ES256 verify, tokens/s', verify, 'raw node:crypto verify');
}

function dagBench() {
  console.log('\nDAG validation (validateDag), each size in a fresh process');
  console.log('| tokens | edges | time (median of 3) | peak RSS over baseline | time ratio to 100k |');
  console.log('|---:|---:|---:|---:|---:|');
  let base;
  for (const n of [100_000, 1_000_000]) {
    const out = JSON.parse(
      execFileSync(process.execPath, ['--expose-gc', '--max-old-space-size=8192', self, '--dag', String(n)], {
        encoding: 'utf8',
      }),
    );
    base ??= out.ms;
    console.log(
      `| ${n.toLocaleString('en-US')} | ${out.edges.toLocaleString('en-US')} | ${out.ms.toFixed(0)} ms | ${out.peakMiB.toFixed(0)} MiB | ${(out.ms / base).toFixed(2)}× |`,
    );
  }
}

// A generated workflow of n tokens in one wid: layers of up to 4 parallel tasks, each naming
// every task of the previous layer (fan-out then fan-in), like the agent workflows it models.
function dagChild(n) {
  validateDag(generateWorkflow(10_000)); // JIT warm-up, so neither size pays for compilation
  const nodes = generateWorkflow(n);
  globalThis.gc();
  const before = process.memoryUsage().rss;
  const times = [];
  let report;
  for (let run = 0; run < 3; run++) {
    const started = process.hrtime.bigint();
    report = validateDag(nodes);
    times.push(Number(process.hrtime.bigint() - started) / 1e6);
  }
  if (report.verdict !== 'valid')
    throw new Error(`generated DAG should be valid: ${JSON.stringify(report.violations.slice(0, 3))}`);
  const peakMiB = (process.resourceUsage().maxRSS * 1024 - before) / 2 ** 20;
  const ms = times.sort((a, b) => a - b)[1];
  process.stdout.write(JSON.stringify({ ms, edges: report.edges, peakMiB: Math.max(0, peakMiB) }));
}

function generateWorkflow(n) {
  const wid = randomUUID();
  const nodes = [];
  let previous = [];
  let iat = 1_795_000_000;
  while (nodes.length < n) {
    const width = Math.min(1 + (nodes.length % 4), n - nodes.length);
    const layer = [];
    for (let i = 0; i < width; i++) {
      layer.push({
        jti: randomUUID(),
        wid,
        iss: 'spiffe://example.org/agent',
        iat,
        exec_act: 'task',
        pred: previous.map((p) => p.jti),
      });
    }
    nodes.push(...layer);
    previous = layer;
    iat += 1;
  }
  // Parsed tokens hold their own copies of predecessor ids, not references to the parent's string.
  for (const node of nodes) node.pred = node.pred.map((jti) => Buffer.from(jti).toString());
  return nodes;
}
