import { Command, CommanderError } from 'commander';
import { SpillwayError } from '../errors.ts';
import { registerBrokerCommands } from './broker-commands.ts';
import { registerDemoCommand } from './demo-command.ts';
import { registerServeCommand } from './serve-command.ts';
import { registerApiKeyCommands } from './api-key-commands.ts';

export function buildProgram(): Command {
  const program = new Command('spillway')
    .description('Write static and live tables into Apache Kafka')
    .exitOverride()
    .showHelpAfterError();
  registerBrokerCommands(program);
  registerDemoCommand(program);
  registerServeCommand(program);
  registerApiKeyCommands(program);
  return program;
}

/** Runs the CLI; resolves with the process exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  try {
    await buildProgram().parseAsync([...argv]);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode;
    const code = error instanceof SpillwayError ? ` [${error.code}]` : '';
    process.stderr.write(`spillway${code}: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }
}
