import { Command, Option } from 'commander';
import { findIssuerBinding, loadSigningKey, loadVerificationKeys } from '../../keys/files.js';
import type { DraftVersion } from '../../base/algorithms.js';
import { isEctError } from '../../base/errors.js';
import { isUuid } from '../../token/formats.js';
import { hashOctets } from '../../token/hash.js';
import { EctSigner, newClaims } from '../../token/sign.js';
import { EctVerifier } from '../../token/verify.js';
import { asUsage, EXIT, readInputFile, UsageError, type CliIo } from '../io.js';

interface CreateOptions {
  key: string;
  iss: string;
  aud: string;
  execAct: string;
  pred: string[];
  wid?: string;
  jti?: string;
  inpFile?: string;
  outFile?: string;
  draft: DraftVersion;
  ttl: string;
  jwks?: string;
  force?: boolean;
}

interface VerifyCliOptions {
  jwks: string;
  audience?: string[];
  audit?: boolean;
  json?: boolean;
}

/** `ect token …` */
export function tokenCommand(io: CliIo, setExit: (code: number) => void): Command {
  const token = new Command('token').description('create and verify single tokens');

  token
    .command('create')
    .description('sign one token and print it in compact form')
    .requiredOption('--key <file>', 'private key (JWK or PEM)')
    .requiredOption(
      '--iss <id>',
      'issuer workload identity; must be one the key is bound to (its ect_iss), if it is bound (see --jwks)',
    )
    .requiredOption('--aud <id[,id]>', 'audience(s), comma-separated')
    .requiredOption('--exec-act <name>', 'the action performed')
    .option(
      '--pred <jti>',
      'a predecessor jti (repeatable)',
      (value: string, all: string[]) => [...all, value],
      [] as string[],
    )
    .option('--wid <uuid>', 'workflow id')
    .option('--jti <uuid>', 'token id (default: a fresh UUID)')
    .option('--inp-file <file>', "set inp_hash from this file's bytes")
    .option('--out-file <file>', "set out_hash from this file's bytes")
    .addOption(new Option('--draft <version>', 'claim names to emit').choices(['00', '01']).default('01'))
    .option('--ttl <seconds>', 'lifetime', '600')
    .option(
      '--jwks <file>',
      "JWK Set to read the key's issuer binding (ect_iss) from, in its entry with the key's kid. " +
        'Default: jwks.json beside --key (as `ect keys generate` writes it), then an ect_iss member of the private JWK',
    )
    .option('--force', "sign even when --iss is not in the key's issuer binding (verifiers will refuse the token)")
    .action(async (options: CreateOptions) => {
      const ttlSeconds = Number(options.ttl);
      if (!Number.isInteger(ttlSeconds) || ttlSeconds <= 0)
        throw new UsageError('--ttl must be a positive whole number of seconds');
      if (options.wid !== undefined && !isUuid(options.wid)) throw new UsageError('--wid must be a UUID');
      if (options.jti !== undefined && !isUuid(options.jti)) throw new UsageError('--jti must be a UUID');
      const badPred = options.pred.find((p) => !isUuid(p));
      if (badPred !== undefined) throw new UsageError(`--pred ${badPred} is not a UUID`);
      const aud = options.aud
        .split(',')
        .map((a) => a.trim())
        .filter((a) => a !== '');
      if (aud.length === 0) throw new UsageError('--aud needs at least one audience');
      const key = await asUsage(() => loadSigningKey(options.key));
      if (options.force) {
        const binding = await findIssuerBinding(options.key, key, options.jwks).catch(() => undefined);
        if (binding !== undefined && !binding.issuers.includes(options.iss))
          io.stderr(`ect: warning: --force: key ${key.kid} is not bound to ${options.iss} (${binding.source})\n`);
      } else {
        // A token whose iss is outside the key's binding fails every verifier with ECT_ISS_MISMATCH.
        const binding = await asUsage(() => findIssuerBinding(options.key, key, options.jwks));
        if (binding !== undefined && !binding.issuers.includes(options.iss)) {
          throw new UsageError(
            `key ${key.kid} is bound to ${binding.issuers.join(', ')} (ect_iss in ${binding.source}), not to ` +
              `--iss ${options.iss}: verifiers would refuse the token with ECT_ISS_MISMATCH. ` +
              'Give one of those issuers, or --force to sign anyway',
          );
        }
      }
      const claims = newClaims({
        iss: options.iss,
        aud: aud.length === 1 ? aud[0]! : aud,
        exec_act: options.execAct,
        pred: options.pred,
        ttlSeconds,
        ...(options.wid === undefined ? {} : { wid: options.wid }),
        ...(options.jti === undefined ? {} : { jti: options.jti }),
        ...(options.inpFile === undefined
          ? {}
          : { inp_hash: hashOctets(await readInputFile(options.inpFile, 'input file')) }),
        ...(options.outFile === undefined
          ? {}
          : { out_hash: hashOctets(await readInputFile(options.outFile, 'output file')) }),
      });
      io.stdout(`${new EctSigner(key, { draft: options.draft }).sign(claims)}\n`);
    });

  token
    .command('verify')
    .description('verify one token; exit 0 valid, 1 invalid, 2 usage error')
    .argument('[token]', 'compact token, or - (the default) to read it from standard input')
    .requiredOption('--jwks <file>', 'verification keys (JWK Set, JWK or PEM)')
    .option('--audience <id...>', 'identities of this verifier; one must be in aud')
    .option('--audit', 'audit mode: no audience, expiry or age requirement (stored tokens)')
    .option('--json', 'machine-readable output')
    .action(async (argument: string | undefined, options: VerifyCliOptions) => {
      const text = argument === undefined || argument === '-' ? (await io.readStdin()).trim() : argument.trim();
      if (text === '') throw new UsageError('no token given (argument or standard input)');
      const keys = await asUsage(() => loadVerificationKeys(options.jwks));
      const verifier = new EctVerifier({
        keys,
        audit: options.audit ?? false,
        ...(options.audience === undefined ? {} : { audience: options.audience }),
      });
      try {
        const verified = verifier.verifySync(text);
        const out = { valid: true, draft: verified.draft, header: verified.header, claims: verified.claims };
        io.stdout(
          options.json
            ? `${JSON.stringify(out)}\n`
            : `valid (draft -${verified.draft}, kid ${verified.header.kid})\n${JSON.stringify(verified.claims, null, 2)}\n`,
        );
      } catch (error) {
        if (!isEctError(error)) throw error;
        const out = { valid: false, code: error.code, message: error.message };
        if (options.json) io.stdout(`${JSON.stringify(out)}\n`);
        else io.stderr(`invalid: ${error.code}: ${error.message}\n`);
        setExit(EXIT.invalid);
      }
    });
  return token;
}
