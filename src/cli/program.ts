import { Command, CommanderError } from 'commander';
import { isEctError } from '../base/errors.js';
import { auditCommand, impactCommand, traceCommand } from './commands/audit.js';
import { dagCommand } from './commands/dag.js';
import { keysCommand } from './commands/keys.js';
import { ledgerCommand } from './commands/ledger.js';
import { tokenCommand } from './commands/token.js';
import { EXIT, processIo, UsageError, type CliIo } from './io.js';

/**
 * Runs the `ect` command with `argv` (without node and script) and resolves to its exit code.
 * Never throws and never prints a stack trace for bad input: usage errors exit 2 with a message.
 *
 * @example process.exitCode = await runCli(process.argv.slice(2));
 */
export async function runCli(argv: readonly string[], io: CliIo = processIo): Promise<number> {
  let exitCode: number = EXIT.ok;
  const setExit = (code: number) => {
    exitCode = code;
  };
  const program = new Command('ect')
    .description('Execution Context Tokens: keys, tokens, DAG verification and the audit ledger')
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .showHelpAfterError('(run with --help for usage)')
    .addCommand(keysCommand(io))
    .addCommand(tokenCommand(io, setExit))
    .addCommand(dagCommand(io, setExit))
    .addCommand(ledgerCommand(io, setExit))
    .addCommand(auditCommand(io, setExit))
    .addCommand(impactCommand(io, setExit))
    .addCommand(traceCommand(io, setExit));
  configureAll(program, io);
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    if (error instanceof UsageError || isEctError(error)) {
      io.stderr(`ect: ${error.message}\n`);
      return EXIT.usage;
    }
    io.stderr(`ect: unexpected failure: ${error instanceof Error ? error.message : String(error)}\n`);
    return EXIT.usage;
  }
}

// Sub-commands made with `new Command` do not inherit these settings from the program: without
// this, `ect token create --help` run in-process would write to the real stdout.
function configureAll(command: Command, io: CliIo): void {
  command.exitOverride().configureOutput({ writeOut: io.stdout, writeErr: io.stderr });
  for (const sub of command.commands) configureAll(sub, io);
}
