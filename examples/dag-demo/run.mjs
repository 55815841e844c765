// Signs the ECT paper's five-task workflow with a fresh development key, writes the tokens one per
// line, and has the `ect` CLI verify them as a DAG: fetch_data → {analyze_risk ∥ check_credit} →
// verify_compliance → execute_trade.
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateSigningKey, saveKeyFiles } from '../../dist/keys/index.js';
import { EctSigner, newClaims } from '../../dist/token/index.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');
const out = join(root, '.ect/dag-demo');
mkdirSync(out, { recursive: true });
const key = generateSigningKey('ES256');
const { jwksPath } = await saveKeyFiles(out, key);
const signer = new EctSigner(key);
const wid = randomUUID();
const aud = 'spiffe://example.org';
const now = Math.floor(Date.now() / 1000) - 60;
const issue = (agent, execAct, pred, at) =>
  newClaims({ iss: `spiffe://example.org/agent/${agent}`, aud, exec_act: execAct, pred: pred.map((c) => c.jti), wid, iat: now + at });

const fetchData = issue('data', 'fetch_data', [], 0);
const analyzeRisk = issue('risk', 'analyze_risk', [fetchData], 2);
const checkCredit = issue('credit', 'check_credit', [fetchData], 2);
const verifyCompliance = issue('compliance', 'verify_compliance', [analyzeRisk, checkCredit], 5);
const executeTrade = issue('trading', 'execute_trade', [verifyCompliance], 7);
const tokensPath = join(out, 'tokens.txt');
const all = [fetchData, analyzeRisk, checkCredit, verifyCompliance, executeTrade];
writeFileSync(tokensPath, `${all.map((claims) => signer.sign(claims)).join('\n')}\n`);
console.log(`signed ${all.length} tokens into ${tokensPath}\n`);
execFileSync(process.execPath, [join(root, 'dist/cli/main.js'), 'dag', 'verify', tokensPath, '--jwks', jwksPath], { stdio: 'inherit' });
