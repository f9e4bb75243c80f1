import type { Command } from 'commander';
import { ErrorCode, SpillwayError } from '../errors.ts';
import { ApiKeyRole } from '../service/api-keys.ts';
import { createApiKey } from '../service/server.ts';
import { ServiceStore } from '../service/store.ts';
import { defaultDataDir } from './serve-command.ts';

function withStore<T>(dataDir: string, use: (store: ServiceStore) => T): T {
  const store = new ServiceStore(dataDir);
  try {
    return use(store);
  } finally {
    store.close();
  }
}

export function registerApiKeyCommands(program: Command): void {
  const keys = program.command('api-key').description("manage the REST service's API keys (the same --data-dir as serve)");

  keys
    .command('create <name>')
    .description('create a key and print it (shown this once; only its hash is kept)')
    .option('--role <role>', 'read (GET only) or write', 'write')
    .option('--data-dir <dir>', 'the service data directory', defaultDataDir())
    .action((name: string, options: { role: string; dataDir: string }) => {
      if (options.role !== ApiKeyRole.Read && options.role !== ApiKeyRole.Write) {
        throw new SpillwayError(ErrorCode.InvalidConfig, `--role is read or write, not "${options.role}"`);
      }
      const role = options.role;
      const { key } = withStore(options.dataDir, (store) => createApiKey(store, name, role));
      process.stdout.write(`${key}\n`);
      process.stderr.write(`API key "${name}" (${role}) created; it is shown only now\n`);
    });

  keys
    .command('revoke <name>')
    .description('delete a key; requests with it are refused from now on')
    .option('--data-dir <dir>', 'the service data directory', defaultDataDir())
    .action((name: string, options: { dataDir: string }) => {
      const deleted = withStore(options.dataDir, (store) => store.deleteApiKey(name));
      if (!deleted) throw new SpillwayError(ErrorCode.InvalidConfig, `no API key named "${name}"; see spillway api-key list`);
      process.stderr.write(`API key "${name}" revoked\n`);
    });

  keys
    .command('list')
    .description('list the keys: name, role, creation time (never the keys themselves)')
    .option('--data-dir <dir>', 'the service data directory', defaultDataDir())
    .action((options: { dataDir: string }) => {
      for (const key of withStore(options.dataDir, (store) => store.listApiKeys())) process.stdout.write(`${key.name}\t${key.role}\t${key.createdAt}\n`);
    });
}
