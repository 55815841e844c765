import { runCli } from '../../src/cli/program.js';

/** What one in-process run of the `ect` command printed and returned. */
export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs the `ect` command in-process through its `CliIo` seam: output and standard input are
 * captured, the exit code comes back from `runCli`, nothing is spawned.
 *
 * @example const { code, stdout } = await ect(['token', 'verify', '-', '--jwks', jwks], token);
 */
export async function ect(args: string[], input = ''): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const code = await runCli(args, {
    stdout: (text) => {
      stdout += text;
    },
    stderr: (text) => {
      stderr += text;
    },
    readStdin: async () => input,
  });
  return { code, stdout, stderr };
}
