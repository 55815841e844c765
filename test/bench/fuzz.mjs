// Long property fuzzing of the three parsers hostile bytes reach first: `parseCompact` (token shape
// and header), `parseExecutionContext` (the header codec) and `EctVerifier.verifySync` (the whole
// verification, with tokens really signed by a trusted key so inputs get past the signature to the
// claim checks). For a fixed time budget each, fast-check generates structure-aware inputs (valid
// tokens mutated, hostile JSON headers and payloads, comma and whitespace soup) and checks that each
// call returns or throws an EctError: nothing else, no crash, no hang.
//
// Why not coverage-guided (Jazzer.js): @jazzer.js/core 4.0.0's prebuilt fuzzer needs glibc 2.38
// (Debian 12 has 2.36), and 2.1.0 downloads its prebuilds from github.com or builds from source,
// neither of which this machine can do. Structure-aware generation reaches the deep checks that
// byte-level mutation would rarely get past the signature for.
//
// The fuzzing runs in a worker; the main thread watches a heartbeat and, when one call takes longer
// than BENCH_FUZZ_HANG_MS, reports a hang with the input under way (kept in shared memory).
//
// npm run build && node test/bench/fuzz.mjs
// Environment: BENCH_FUZZ_SECONDS (60: budget per target), BENCH_FUZZ_TARGETS (parseCompact,
// parseExecutionContext,verifySync), BENCH_FUZZ_SEED (random), BENCH_FUZZ_HANG_MS (5000).
// Exit status 1 when any target found a failure, crashed or hung.
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';

const TARGETS = ['parseCompact', 'parseExecutionContext', 'verifySync'];
const INPUT_BYTES = 1 << 20;

if (isMainThread) await main();
else await fuzzWorker(workerData);

async function main() {
  const seconds = Number(process.env.BENCH_FUZZ_SECONDS ?? 60);
  const hangMs = Number(process.env.BENCH_FUZZ_HANG_MS ?? 5000);
  const seed = Number(process.env.BENCH_FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
  const targets = (process.env.BENCH_FUZZ_TARGETS ?? TARGETS.join(',')).split(',').filter((t) => t !== '');
  console.log(`fast-check fuzzing, ${seconds} s per target, seed ${seed} (BENCH_FUZZ_SEED to replay)`);
  console.log(
    '| target | inputs | inputs/s | returned | threw EctError | distinct codes | slowest call ms | verdict |',
  );
  console.log('|---|---:|---:|---:|---:|---:|---:|---|');
  let failed = false;
  for (const target of targets) {
    const result = await runTarget(target, seconds, seed, hangMs);
    const codes = Object.keys(result.codes ?? {}).length;
    console.log(
      `| ${target} | ${(result.runs ?? 0).toLocaleString('en-US')} | ${Math.round((result.runs ?? 0) / seconds).toLocaleString('en-US')} | ${(result.returned ?? 0).toLocaleString('en-US')} | ${(result.threw ?? 0).toLocaleString('en-US')} | ${codes} | ${(result.slowestMs ?? 0).toFixed(1)} | ${result.verdict} |`,
    );
    if (result.slowestInput)
      console.log(`|  | slowest input: ${JSON.stringify(result.slowestInput).replaceAll('|', '\\|')} | | | | | | |`);
    if (result.codes)
      console.log(
        `|  | codes: ${Object.entries(result.codes)
          .map(([c, n]) => `${c} ${n}`)
          .join(', ')} | | | | | | |`,
      );
    if (result.verdict !== 'ok') {
      failed = true;
      console.log(`\n${target}: ${result.verdict}\n${result.detail ?? ''}\n`);
    }
  }
  process.exitCode = failed ? 1 : 0;
}

/** One target in a worker, watched for hangs; resolves with its report. */
function runTarget(target, seconds, seed, hangMs) {
  const heartbeat = new Int32Array(new SharedArrayBuffer(4));
  const input = new Uint8Array(new SharedArrayBuffer(INPUT_BYTES + 4));
  const worker = new Worker(new URL(import.meta.url), {
    workerData: { target, seconds, seed, heartbeat, input },
    resourceLimits: { maxOldGenerationSizeMb: 512 },
  });
  return new Promise((resolve) => {
    let last = -1;
    let stillSince = Date.now();
    let settled = false;
    const finish = (report) => {
      if (settled) return;
      settled = true;
      clearInterval(watch);
      resolve(report);
    };
    const started = Date.now();
    const watch = setInterval(() => {
      const beat = Atomics.load(heartbeat, 0);
      if (beat === 0) {
        // Still setting up (imports, keys, signed samples): not fuzzing yet.
        if (Date.now() - started > 120_000) {
          void worker.terminate();
          finish({ verdict: 'CRASH: the worker did not start fuzzing within 120 s' });
        }
        return;
      }
      if (beat !== last) {
        last = beat;
        stillSince = Date.now();
      } else if (Date.now() - stillSince > hangMs) {
        const length = new DataView(input.buffer).getUint32(0);
        const text = Buffer.from(input.subarray(4, 4 + Math.min(length, 2000))).toString('utf8');
        void worker.terminate();
        finish({
          verdict: `HANG: one call took over ${hangMs} ms`,
          detail: `input (first 2000 bytes): ${JSON.stringify(text)}`,
        });
      }
    }, 100);
    worker.on('message', (report) => finish(report));
    worker.on('error', (error) => finish({ verdict: `CRASH: ${error?.stack ?? error}` }));
    worker.on('exit', (code) => finish({ verdict: `CRASH: worker exited with ${code} before reporting` }));
  });
}

// ---------------------------------------------------------------------------------------------
// The worker: arbitraries and oracles

async function fuzzWorker({ target, seconds, seed, heartbeat, input }) {
  const fc = (await import('fast-check')).default;
  const { randomUUID } = await import('node:crypto');
  const { generateSigningKey, JwksResolver, publicJwkOf } = await import('../../dist/keys/index.js');
  const { EctSigner, EctVerifier, isEctError, LIMITS, newClaims, parseCompact, parseExecutionContext } = await import(
    '../../dist/token/index.js'
  );

  const encoder = new TextEncoder();
  const view = new DataView(input.buffer);
  /** Publishes the input about to be tried, for the hang report. */
  const publish = (value) => {
    const bytes = encoder.encode(typeof value === 'string' ? value : JSON.stringify(value));
    const n = Math.min(bytes.length, INPUT_BYTES);
    input.set(bytes.subarray(0, n), 4);
    view.setUint32(0, n);
  };

  // Keys: tokens are signed with these, and the verifier trusts them (ES256, ES384, EdDSA).
  const keys = ['ES256', 'ES384', 'EdDSA'].map((alg) => generateSigningKey(alg));
  const resolver = JwksResolver.fromJwks({ keys: keys.map((k) => publicJwkOf(k)) });
  const verifier = new EctVerifier({ keys: resolver, audience: 'spiffe://example.org' });
  const signers = keys.map((k) => new EctSigner(k));
  const b64 = (text) => Buffer.from(text).toString('base64url');
  const valid = signers.map((s) =>
    s.sign(
      newClaims({
        iss: 'spiffe://example.org/service/fuzz',
        aud: 'spiffe://example.org',
        exec_act: 'fuzz',
        wid: randomUUID(),
        pred: [randomUUID()],
        ect_ext: { 'io.opentelemetry.span': { trace_id: 'ab'.repeat(16), span_id: 'cd'.repeat(8) } },
      }),
    ),
  );
  const { sign: cryptoSign } = await import('node:crypto');
  /** Signs `headerJson.payloadJson` (raw text, so anything goes) with a trusted key. */
  function signRaw(keyIndex, headerJson, payloadJson) {
    const key = keys[keyIndex];
    const signingInput = `${b64(headerJson)}.${b64(payloadJson)}`;
    const digest = { ES256: 'sha256', ES384: 'sha384', EdDSA: null }[key.alg];
    const signature = cryptoSign(digest, Buffer.from(signingInput), { key: key.privateKey, dsaEncoding: 'ieee-p1363' });
    return `${signingInput}.${signature.toString('base64url')}`;
  }

  // JSON values with the shapes that matter: deep nesting, big and odd numbers, long strings.
  const deepJson = fc.integer({ min: 1, max: 1200 }).map((d) => `${'['.repeat(d)}${']'.repeat(d)}`);
  const oddNumber = fc.constantFrom(
    '1e309',
    '-0',
    '1e-400',
    '9007199254740993',
    '0.5',
    '-1',
    '1.7976931348623157e308',
    'NaN',
  );
  const scalarJson = fc.oneof(
    fc.json({ maxDepth: 3 }),
    oddNumber,
    fc.string({ maxLength: 64, unit: 'grapheme' }).map((s) => JSON.stringify(s)),
    deepJson,
    fc.constantFrom('null', 'true', '{}', '[]', '""', '"\\u0000"', '"\\ud800"'),
  );
  const now = Math.floor(Date.now() / 1000);
  const uuid = fc.uuid().map((u) => JSON.stringify(u));
  const claimValue = {
    iss: fc.oneof(fc.constant('"spiffe://example.org/service/fuzz"'), scalarJson),
    aud: fc.oneof(
      fc.constant('"spiffe://example.org"'),
      fc.constant('["spiffe://example.org","x"]'),
      fc.array(fc.string(), { maxLength: 40 }).map((a) => JSON.stringify(a)),
      scalarJson,
    ),
    iat: fc.oneof(
      fc.constant(String(now)),
      fc.integer({ min: -1e6, max: 1e6 }).map((d) => String(now + d)),
      scalarJson,
    ),
    exp: fc.oneof(
      fc.constant(String(now + 600)),
      fc.integer({ min: -1e6, max: 1e6 }).map((d) => String(now + d)),
      scalarJson,
    ),
    jti: fc.oneof(uuid, scalarJson),
    exec_act: fc.oneof(
      fc.constant('"act"'),
      fc.string({ maxLength: 300 }).map((s) => JSON.stringify(s)),
      scalarJson,
    ),
    pred: fc.oneof(
      fc.array(uuid, { maxLength: 120 }).map((a) => `[${a.join(',')}]`),
      fc.integer({ min: 0, max: 400 }).map((n) => `[${Array.from({ length: n }, (_, i) => `"${i}"`).join(',')}]`),
      scalarJson,
    ),
    par: fc.array(uuid, { maxLength: 5 }).map((a) => `[${a.join(',')}]`),
    wid: fc.oneof(uuid, scalarJson),
    ect_ext: fc.oneof(
      fc.json({ maxDepth: 8 }),
      fc.integer({ min: 1, max: 600 }).map((d) => `${'{"a":'.repeat(d)}1${'}'.repeat(d)}`),
      scalarJson,
    ),
    ext: fc.json({ maxDepth: 4 }),
    inp_hash: fc.oneof(fc.constant(JSON.stringify('A'.repeat(43))), scalarJson),
    out_hash: fc.oneof(fc.constant(JSON.stringify('_'.repeat(43))), scalarJson),
  };
  const baseline = ['iss', 'aud', 'iat', 'exp', 'jti', 'exec_act', 'pred', 'wid'];
  // A payload: the required claims (each maybe dropped or replaced), optional extras, maybe a
  // duplicated key or trailing garbage.
  const payloadJson = fc
    .record({
      drop: fc.subarray(baseline, { maxLength: 2 }),
      extra: fc.subarray(['par', 'ect_ext', 'ext', 'inp_hash', 'out_hash'], { maxLength: 3 }),
      values: fc.record(claimValue),
      junkKeys: fc.dictionary(fc.string({ maxLength: 8 }), scalarJson, { maxKeys: 3 }),
      duplicate: fc.boolean(),
      tail: fc.oneof(
        { weight: 12, arbitrary: fc.constant('') },
        { weight: 1, arbitrary: fc.constantFrom(' ', ',', '}', 'x') },
      ),
    })
    .map(({ drop, extra, values, junkKeys, duplicate, tail }) => {
      const fields = [...baseline.filter((k) => !drop.includes(k)), ...extra].map((k) => `"${k}":${values[k]}`);
      for (const [k, v] of Object.entries(junkKeys)) fields.push(`${JSON.stringify(k)}:${v}`);
      if (duplicate && fields.length > 0) fields.push(fields[0]);
      return `{${fields.join(',')}}${tail}`;
    });
  const headerJson = fc
    .record({
      alg: fc.constantFrom('"ES256"', '"ES384"', '"EdDSA"', '"none"', '"HS256"', '"RS256"', '"es256"', 'null', '1'),
      typ: fc.constantFrom('"exec+jwt"', '"wimse-exec+jwt"', '"JWT"', '"application/exec+jwt"', '"EXEC+JWT"', '1'),
      kid: fc.oneof(fc.constantFrom(...keys.map((k) => JSON.stringify(k.kid))), scalarJson),
      crit: fc.option(fc.constantFrom('["exp"]', '[]', '"x"', '["b64"]')),
      b64: fc.option(fc.constantFrom('false', 'true')),
      drop: fc.constantFrom(null, 'alg', 'typ', 'kid'),
    })
    .map(({ alg, typ, kid, crit, b64: b64flag, drop }) => {
      const fields = {
        alg,
        typ,
        kid,
        ...(crit === null ? {} : { crit }),
        ...(b64flag === null ? {} : { b64: b64flag }),
      };
      if (drop !== null) delete fields[drop];
      return `{${Object.entries(fields)
        .map(([k, v]) => `"${k}":${v}`)
        .join(',')}}`;
    });
  // Signed by a trusted key, so the claim checks see the payload: mostly under a header that passes
  // (right alg and kid, an accepted typ), sometimes under a hostile one.
  const goodHeader = fc
    .tuple(fc.integer({ min: 0, max: keys.length - 1 }), fc.constantFrom('exec+jwt', 'wimse-exec+jwt'))
    .map(([k, typ]) => ({ k, header: JSON.stringify({ alg: keys[k].alg, typ, kid: keys[k].kid }) }));
  const anyHeader = fc
    .tuple(fc.integer({ min: 0, max: keys.length - 1 }), headerJson)
    .map(([k, header]) => ({ k, header }));
  const signedHostile = fc
    .tuple(fc.oneof({ weight: 4, arbitrary: goodHeader }, { weight: 1, arbitrary: anyHeader }), payloadJson)
    .map(([{ k, header }, payload]) => signRaw(k, header, payload));
  // Valid tokens, mutated at the character level.
  const base64urlChar = fc.constantFrom(
    ...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=+/.'.split(''),
  );
  const mutated = fc
    .tuple(
      fc.constantFrom(...valid),
      fc.array(fc.tuple(fc.nat(), fc.constantFrom('replace', 'insert', 'delete', 'truncate'), base64urlChar), {
        minLength: 1,
        maxLength: 6,
      }),
    )
    .map(([token, edits]) => {
      let t = token;
      for (const [at, op, ch] of edits) {
        const i = at % (t.length + 1);
        if (op === 'replace') t = t.slice(0, i) + ch + t.slice(i + 1);
        else if (op === 'insert') t = t.slice(0, i) + ch + t.slice(i);
        else if (op === 'delete') t = t.slice(0, i) + t.slice(i + 1);
        else t = t.slice(0, i);
      }
      return t;
    });
  const partsSoup = fc
    .array(
      fc.oneof(
        fc.base64String({ maxLength: 200 }),
        fc.string({ maxLength: 40 }),
        headerJson.map(b64),
        payloadJson.map(b64),
      ),
      {
        maxLength: 5,
      },
    )
    .map((parts) => parts.join('.'));
  const tokenLike = fc.oneof(
    { weight: 4, arbitrary: signedHostile },
    { weight: 3, arbitrary: mutated },
    { weight: 2, arbitrary: partsSoup },
    { weight: 1, arbitrary: fc.string({ maxLength: 6000 }) },
    { weight: 1, arbitrary: fc.string({ maxLength: 5000, unit: 'binary' }) },
    { weight: 1, arbitrary: fc.constantFrom(...valid) },
  );
  // Header field values: tokens, separators, whitespace, in lines and lists.
  const item = fc.oneof(
    fc.constantFrom(...valid),
    fc.constantFrom('', ' ', '\t', ',', ',,', ' , ', '"', '\u0000', 'x'.repeat(5000)),
    fc.string({ maxLength: 100 }),
    mutated,
  );
  const line = fc
    .tuple(fc.array(item, { maxLength: 40 }), fc.constantFrom(',', ', ', ' ,', ',\t', ';'))
    .map(([items, sep]) => items.join(sep));
  const fieldValue = fc.oneof(
    line,
    fc.array(line, { maxLength: 20 }),
    fc.integer({ min: 0, max: 70_000 }).map((n) => ','.repeat(n)),
    fc.constant(undefined),
  );
  const limits = fc.record(
    {
      maxTokens: fc.integer({ min: 0, max: 200 }),
      maxBytes: fc.integer({ min: 0, max: 100_000 }),
      maxTokenBytes: fc.integer({ min: 0, max: 10_000 }),
    },
    { requiredKeys: [] },
  );

  const stats = { runs: 0, returned: 0, threw: 0, codes: {}, slowestMs: 0, slowestInput: '', failure: undefined };
  let slowest;
  /** Runs one call: counts it, times it, and fails on anything but a return or an EctError. */
  function attempt(value, call) {
    publish(value);
    Atomics.add(heartbeat, 0, 1);
    const t0 = performance.now();
    try {
      call();
      stats.returned++;
    } catch (error) {
      if (!isEctError(error)) {
        stats.failure ??= { error: String(error?.stack ?? error), input: value };
        return false;
      }
      stats.threw++;
      stats.codes[error.code] = (stats.codes[error.code] ?? 0) + 1;
    } finally {
      stats.runs++;
      const ms = performance.now() - t0;
      if (ms > stats.slowestMs) {
        stats.slowestMs = ms;
        slowest = { value, call };
      }
    }
    return true;
  }

  const parseOptions = { maxTokenBytes: LIMITS.maxTokenBytes, algorithms: ['ES256', 'ES384', 'EdDSA'] };
  const property = {
    parseCompact: fc.property(tokenLike, (token) => attempt(token, () => parseCompact(token, parseOptions))),
    parseExecutionContext: fc.property(fieldValue, limits, (value, l) =>
      attempt({ value, limits: l }, () => parseExecutionContext(value, l)),
    ),
    verifySync: fc.property(tokenLike, (token) => attempt(token, () => verifier.verifySync(token))),
  }[target];
  Atomics.store(heartbeat, 0, 1); // set up: the watch for hangs starts now
  const outcome = fc.check(property, {
    seed,
    numRuns: Number.MAX_SAFE_INTEGER,
    interruptAfterTimeLimit: seconds * 1000,
    markInterruptAsFailure: false,
    endOnFailure: true,
  });
  // The slowest call again, best of 5: a garbage collection or a busy machine can stretch one call;
  // an input that is itself slow stays slow.
  if (slowest !== undefined) {
    let best = Number.POSITIVE_INFINITY;
    for (let i = 0; i < 5; i++) {
      const t0 = performance.now();
      try {
        slowest.call();
      } catch {}
      best = Math.min(best, performance.now() - t0);
    }
    const text = typeof slowest.value === 'string' ? slowest.value : JSON.stringify(slowest.value);
    stats.slowestInput = `${best.toFixed(2)} ms re-timed (best of 5); ${text.length} chars: ${text.slice(0, 120)}`;
  }
  let verdict = 'ok';
  let detail;
  if (outcome.failed) {
    verdict = 'FAILED: a call threw something other than an EctError';
    detail = `${stats.failure?.error}\ncounterexample: ${JSON.stringify(outcome.counterexample)?.slice(0, 3000)}`;
  }
  parentPort.postMessage({ ...stats, failure: undefined, verdict, detail });
}
