import type { Migration, MigrationProvider } from 'kysely';
import * as m0001 from './0001_foundation.js';
import * as m0002 from './0002_fleet.js';

/** Listed statically so the same migrations run from source and from the built package. */
const migrations: Record<string, Migration> = {
  '0001_foundation': m0001,
  '0002_fleet': m0002,
};

export const migrationProvider: MigrationProvider = {
  getMigrations: () => Promise.resolve(migrations),
};
