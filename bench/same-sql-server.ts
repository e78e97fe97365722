import { createHash } from 'node:crypto';
import SQLite from 'better-sqlite3';
import Fastify from 'fastify';
import { Kysely, SqliteDialect, type CompiledQuery } from 'kysely';
import type { DB } from '../src/server/db/schema.js';
import { accessRepo } from '../src/server/modules/access/access.repo.js';
import { apiKeysRepo } from '../src/server/modules/apikeys/apikeys.repo.js';

/**
 * The floor of an authenticated list route: bare Fastify (no logger, no hooks) serving
 * `GET /` with what Fleetplane's `GET /api/v1/access/roles` runs with an X-API-Key, on the
 * same SQLite file (argv[2], read-only): the key's principal and the first page of roles, the
 * very statements its repositories compile, and nothing else. Prints its URL once listening.
 */

const file = process.argv[2];
if (!file) throw new Error('usage: same-sql-server.ts <fleetplane.db>');
const sqlite = new SQLite(file, { readonly: true });

// The statements, as Kysely compiles them for the two repository calls.
const compiled: CompiledQuery[] = [];
const db = new Kysely<DB>({
  dialect: new SqliteDialect({ database: sqlite }),
  log: (event) => {
    if (event.level === 'query') compiled.push(event.query);
  },
});
await apiKeysRepo.principalByHash(db, '');
await accessRepo.listRoles(db, '', { limit: 50, after: undefined });
const [principalSql, rolesSql] = compiled.map((query) => sqlite.prepare(query.sql));
if (!principalSql || !rolesSql) throw new Error('same-sql-server: the statements were not compiled');

interface KeyRow {
  org_id: string;
  revoked_at: string | null;
  creator_disabled_at: string | null;
}
interface RoleRow {
  id: string;
  name: string;
  description: string;
  builtin: number;
  permissions: string;
  created_at: string;
  updated_at: string;
}

const app = Fastify({ logger: false });
app.get('/', async (request, reply) => {
  const key = request.headers['x-api-key'];
  if (typeof key !== 'string') return reply.status(401).send({ error: 'no key' });
  const hash = createHash('sha256').update(key).digest('hex');
  const row = principalSql.all(hash)[0] as KeyRow | undefined;
  if (!row || row.revoked_at || row.creator_disabled_at) return reply.status(401).send({ error: 'bad key' });
  const roles = rolesSql.all(row.org_id, 51) as RoleRow[];
  return {
    items: roles.slice(0, 50).map((role) => ({
      ...role,
      builtin: role.builtin === 1,
      permissions: JSON.parse(role.permissions) as string[],
    })),
    next_cursor: null,
  };
});
const url = await app.listen({ host: '127.0.0.1', port: 0 });
process.stdout.write(`listening at ${url}\n`);
process.once('SIGTERM', () => void app.close().then(() => process.exit(0)));
