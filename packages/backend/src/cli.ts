/**
 * Operator commands for the backend's data:
 *   node --import tsx packages/backend/src/cli.ts rotate-key [--data-dir DIR]
 *   node --import tsx packages/backend/src/cli.ts bootstrap [--data-dir DIR] [--username NAME]
 *   node --import tsx packages/backend/src/cli.ts migrate [--data-dir DIR]
 * The database is the SQLite file in the data directory, or DATABASE_URL when set; the key is the
 * data directory's key file, or KK_CREDENTIAL_KEY (+ KK_CREDENTIAL_OLD_KEYS) when set.
 */
import { parseArgs } from 'node:util';
import { bootstrapAdmin } from './bootstrap.js';
import { backendConfigFromEnv, ConfigError } from './config.js';
import { rotateCredentialKey } from './crypto/rotate.js';
import { BackendError } from './errors.js';
import { openStore } from './store/store.js';

const usage = 'usage: cli.ts <rotate-key|bootstrap|migrate> [--data-dir DIR] [--username NAME]';

async function main(argv: string[]): Promise<number> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      'data-dir': { type: 'string' },
      username: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const command = positionals[0];
  if (values.help || !command || !['rotate-key', 'bootstrap', 'migrate'].includes(command)) {
    console.error(usage);
    return values.help ? 0 : 2;
  }
  const config = backendConfigFromEnv(process.env, values['data-dir'] ? { dataDir: values['data-dir'] } : {});
  const store = await openStore(config);
  try {
    if (command === 'rotate-key') {
      const result = await rotateCredentialKey(store);
      console.log(
        JSON.stringify({ keyId: result.keyId, resealed: result.resealed, retired: result.retired }),
      );
    } else if (command === 'bootstrap') {
      const result = await bootstrapAdmin(store, { username: values.username });
      if (!result) {
        console.error('there are users already; nothing to do');
        return 1;
      }
      console.log(JSON.stringify({ username: result.user.username, token: result.token }));
    } else {
      console.log(JSON.stringify({ store: store.kind, location: store.location, migrated: true }));
    }
    return 0;
  } finally {
    await store.close();
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err instanceof ConfigError || err instanceof BackendError ? err.message : err);
    process.exit(1);
  },
);
