/**
 * Every schema version, in order. A migration is never edited once released: a change to the
 * schema is a new entry here. They run at start (`openStore`), inside Kysely's migration lock,
 * so two processes starting against one PostgreSQL apply each version once.
 */
import type { Migration, MigrationProvider } from 'kysely';
import type { DialectKind } from '../dialect.js';
import { initial } from './0001_initial.js';

export function migrations(kind: DialectKind): MigrationProvider {
  const all: Record<string, Migration> = {
    '0001_initial': initial(kind),
  };
  return { getMigrations: async () => all };
}
