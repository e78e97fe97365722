import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase, type Database } from '../../src/server/db/database.js';
import { capsOf } from '../../src/server/db/executor.js';
import { dialects, isolatedDatabase } from '../support/harness.js';
import { StatementCounter } from '../support/statements.js';

/** Repositories read the capabilities off whatever handle a service passes them. */
describe.each(dialects)('db: dialect capabilities on %s', (dialect) => {
  let dir: string | undefined;
  let database: Database | undefined;
  afterEach(async () => {
    await database?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('db: a handle, a transaction and a handle with plugins all answer the dialect’s capabilities', async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'fp-caps-'));
    database = await openDatabase(isolatedDatabase(dialect, dir));
    const expected =
      dialect === 'postgres'
        ? { skipLocked: true, rowLocks: true, notify: true, ilike: 'ilike' }
        : { skipLocked: false, rowLocks: false, notify: false, ilike: 'like' };
    expect(database.caps).toEqual(expected);
    expect(capsOf(database.db)).toEqual(expected);
    expect(capsOf(database.db.withPlugin(new StatementCounter()))).toEqual(expected);
    const inside = await database.db.transaction().execute(async (trx) => capsOf(trx));
    expect(inside).toEqual(expected);
  });
});
