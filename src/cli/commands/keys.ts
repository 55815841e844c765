import { Command, Option } from 'commander';
import { generateSigningKey } from '../../keys/generate.js';
import { saveKeyFiles } from '../../keys/files.js';
import type { EctAlgorithm } from '../../base/algorithms.js';
import type { CliIo } from '../io.js';

/** `ect keys …` */
export function keysCommand(io: CliIo): Command {
  const keys = new Command('keys').description('generate and manage signing keys');
  keys
    .command('generate')
    .description('generate a key pair: DIR/private.jwk.json (mode 0600) and DIR/jwks.json')
    .addOption(new Option('--alg <alg>', 'signature algorithm').choices(['ES256', 'EdDSA', 'ES384']).default('ES256'))
    .requiredOption('--out <dir>', 'directory to write the key files into')
    .option('--iss <id...>', 'bind the key to these issuers (stored as ect_iss in the JWK Set)')
    .action(async (options: { alg: EctAlgorithm; out: string; iss?: string[] }) => {
      const key = generateSigningKey(options.alg);
      const paths = await saveKeyFiles(options.out, key, options.iss === undefined ? {} : { issuers: options.iss });
      io.stdout(`${JSON.stringify({ kid: key.kid, alg: key.alg, ...paths })}\n`);
    });
  return keys;
}
