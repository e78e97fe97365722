import { randomBytes } from 'node:crypto';
import { newId } from '../../src/server/lib/ids.js';
import type { Session } from '../support/client.js';
import type { TestServer } from '../support/harness.js';

export const SECOND = 1000;
export const DAY = 24 * 3600 * SECOND;

/** `now` moved by `ms`, as stored: ISO text. */
export const at = (now: Date, ms: number) => new Date(now.getTime() + ms).toISOString();

const hash = () => randomBytes(16).toString('hex');

/** Rows written straight to the tables, with the times a test needs; each answers its id. */
export function rows(server: TestServer) {
  const db = server.database.db;
  return {
    async session(
      owner: Session,
      expiresAt: string,
      refreshTokens = 0,
    ): Promise<{ id: string; tokens: string[] }> {
      const id = newId();
      await db
        .insertInto('sessions')
        .values({
          id,
          user_id: owner.userId,
          org_id: owner.orgId,
          created_at: expiresAt,
          expires_at: expiresAt,
          revoked_at: null,
          revoked_reason: null,
          ip: null,
          user_agent: null,
        })
        .execute();
      const tokens = Array.from({ length: refreshTokens }, () => newId());
      for (const [i, token] of tokens.entries())
        await db
          .insertInto('refresh_tokens')
          .values({
            id: token,
            session_id: id,
            token_hash: hash(),
            created_at: expiresAt,
            // a used one too: kept while its session lives, for reuse detection
            used_at: i === 0 ? expiresAt : null,
          })
          .execute();
      return { id, tokens };
    },

    async passwordReset(owner: Session, expiresAt: string, used = false): Promise<string> {
      const id = newId();
      await db
        .insertInto('password_resets')
        .values({
          id,
          user_id: owner.userId,
          token_hash: hash(),
          created_at: expiresAt,
          expires_at: expiresAt,
          used_at: used ? expiresAt : null,
        })
        .execute();
      return id;
    },

    async invite(owner: Session, roleId: string, expiresAt: string, accepted = false): Promise<string> {
      const id = newId();
      await db
        .insertInto('invites')
        .values({
          id,
          org_id: owner.orgId,
          email: `${id}@example.test`,
          role_id: roleId,
          token_hash: hash(),
          created_by: owner.userId,
          created_at: expiresAt,
          expires_at: expiresAt,
          accepted_at: accepted ? expiresAt : null,
          revoked_at: null,
        })
        .execute();
      return id;
    },

    async enrollmentToken(
      owner: Session,
      fields: { expires_at: string | null; max_uses: number | null; uses: number },
    ): Promise<string> {
      const id = newId();
      await db
        .insertInto('enrollment_tokens')
        .values({
          id,
          org_id: owner.orgId,
          name: id,
          prefix: id.slice(0, 8),
          token_hash: hash(),
          default_tags: '[]',
          group_id: null,
          created_by: owner.userId,
          created_at: fields.expires_at ?? new Date().toISOString(),
          revoked_at: null,
          ...fields,
        })
        .execute();
      return id;
    },

    async sdkDevice(expiresAt: string): Promise<string> {
      const id = newId();
      await db
        .insertInto('sdk_devices')
        .values({
          id,
          device_code_hash: hash(),
          user_code: randomBytes(4).toString('hex').toUpperCase(),
          client_name: 'sdk',
          status: 'pending',
          interval_seconds: 5,
          last_polled_at: null,
          org_id: null,
          user_id: null,
          ip: null,
          created_at: expiresAt,
          expires_at: expiresAt,
          decided_at: null,
        })
        .execute();
      return id;
    },

    async auditEvent(orgId: string | null, createdAt: string): Promise<string> {
      const id = newId();
      await db
        .insertInto('audit_events')
        .values({
          id,
          org_id: orgId,
          actor_type: 'system',
          actor_id: null,
          actor_label: 'test',
          action: 'modified',
          entity_type: 'test',
          entity_id: null,
          before_json: null,
          after_json: null,
          ip: null,
          user_agent: null,
          request_id: null,
          created_at: createdAt,
        })
        .execute();
      return id;
    },

    /** A copy of job `template` that finished at `finishedAt` (null: still running), with output lines written at `outputAt`. */
    async jobWithOutput(
      template: string,
      finishedAt: string | null,
      outputAt: string,
      lines = 2,
    ): Promise<string> {
      const row = await db
        .selectFrom('jobs')
        .selectAll()
        .where('id', '=', template)
        .executeTakeFirstOrThrow();
      const id = newId();
      await db
        .insertInto('jobs')
        .values({
          ...row,
          id,
          status: finishedAt ? 'succeeded' : 'running',
          finished_at: finishedAt,
          started_at: outputAt,
        })
        .execute();
      for (let seq = 0; seq < lines; seq += 1)
        await db
          .insertInto('job_output')
          .values({
            job_id: id,
            attempt: 1,
            seq,
            stream: 'stdout',
            data: `line ${seq}\n`,
            created_at: outputAt,
          })
          .execute();
      return id;
    },
  };
}

/** Which of `ids` are still in `table`. */
export async function remaining(
  server: TestServer,
  table:
    | 'sessions'
    | 'refresh_tokens'
    | 'password_resets'
    | 'invites'
    | 'enrollment_tokens'
    | 'sdk_devices'
    | 'audit_events',
  ids: string[],
): Promise<string[]> {
  if (ids.length === 0) return [];
  const found = await server.database.db.selectFrom(table).select('id').where('id', 'in', ids).execute();
  return ids.filter((id) => found.some((row) => row.id === id));
}

/** Jobs of `ids` that still have output. */
export async function withOutput(server: TestServer, ids: string[]): Promise<string[]> {
  const found = await server.database.db
    .selectFrom('job_output')
    .select('job_id')
    .distinct()
    .where('job_id', 'in', ids)
    .execute();
  return ids.filter((id) => found.some((row) => row.job_id === id));
}
