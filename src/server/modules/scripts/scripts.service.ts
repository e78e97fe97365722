import { isDeepStrictEqual } from 'node:util';
import type { OsType } from '../../../protocol/jobs.js';
import { inTransaction, type Executor } from '../../db/executor.js';
import type { Clock } from '../../lib/clock.js';
import { AppError, notFound } from '../../lib/errors.js';
import { newId } from '../../lib/ids.js';
import { mapPage, type Page, type PageParams } from '../../lib/pagination.js';
import { assertUnused, type Usage } from '../../lib/usage.js';
import type { RequestContext } from '../access/context.js';
import type { AuditLog } from '../audit/audit.service.js';
import { checkDefinitions, checkKind, normalizeDefinitions, unprocessable } from './scripts.params.js';
import {
  scriptsRepo,
  type Script,
  type ScriptChanges,
  type ScriptFilter,
  type ScriptVersion,
} from './scripts.repo.js';
import { STARTER_TAG, STARTER_TIMEOUT_SECONDS, starterCommands } from './scripts.starter.js';
import type {
  ParameterDefinition,
  ScriptCreateBody,
  ScriptKind,
  ScriptLanguage,
  ScriptUpdateBody,
} from './scripts.schemas.js';

export interface ScriptView {
  id: string;
  name: string;
  description: string;
  kind: ScriptKind;
  language: ScriptLanguage;
  content: string;
  target_os_type: OsType | null;
  parameters: ParameterDefinition[];
  tags: string[];
  timeout_seconds: number | null;
  max_attempts: number | null;
  version: number;
  created_by: string | null;
  created_at: string;
  updated_at: string;
}

export interface ScriptVersionView {
  script_id: string;
  version: number;
  language: ScriptLanguage;
  content: string;
  parameters: ParameterDefinition[];
  created_by: string | null;
  created_at: string;
}

/** A live script of the organisation (a saved command too), or undefined. */
export function findScript(db: Executor, orgId: string, id: string): Promise<Script | undefined> {
  return scriptsRepo.get(db, orgId, id);
}

/**
 * Gives a new organisation its starter library of saved commands (scripts.starter.ts), inside
 * the transaction that creates it. Added once: a starter edited or deleted stays so.
 */
export async function addStarterCommands(trx: Executor, orgId: string, createdAt: string): Promise<void> {
  // Inserted last first: the library lists newest first, so it shows them in the order written.
  const rows: Script[] = [...starterCommands].reverse().map((starter) => ({
    id: newId(),
    org_id: orgId,
    name: starter.name,
    description: starter.description,
    kind: 'command',
    language: starter.language,
    content: starter.content,
    target_os_type: starter.target_os_type,
    parameters: [],
    tags: [STARTER_TAG, starter.target_os_type],
    timeout_seconds: STARTER_TIMEOUT_SECONDS,
    max_attempts: null,
    version: 1,
    created_by: null,
    created_at: createdAt,
    updated_at: createdAt,
  }));
  await scriptsRepo.insertBatch(trx, rows);
  await scriptsRepo.insertVersionBatch(
    trx,
    rows.map((row) => versionOf(row, null)),
  );
}

/** The version row that keeps what a script is now, written by `userId` (null: by the system). */
function versionOf(script: Script, userId: string | null): ScriptVersion {
  return {
    id: newId(),
    script_id: script.id,
    version: script.version,
    content: script.content,
    language: script.language,
    parameters: script.parameters,
    created_by: userId,
    created_at: script.updated_at,
  };
}

export function scriptView(row: Script): ScriptView {
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    kind: row.kind as ScriptKind,
    language: row.language as ScriptLanguage,
    content: row.content,
    target_os_type: row.target_os_type as OsType | null,
    parameters: row.parameters,
    tags: row.tags,
    timeout_seconds: row.timeout_seconds,
    max_attempts: row.max_attempts,
    version: row.version,
    created_by: row.created_by,
    created_at: row.created_at,
    updated_at: row.updated_at,
  };
}

function versionView(row: ScriptVersion): ScriptVersionView {
  return {
    script_id: row.script_id,
    version: row.version,
    language: row.language as ScriptLanguage,
    content: row.content,
    parameters: row.parameters,
    created_by: row.created_by,
    created_at: row.created_at,
  };
}

function nameTaken(name: string): AppError {
  return new AppError('conflict', `a script named "${name}" exists`, {
    details: [{ field: 'name', message: 'already used in this organisation' }],
  });
}

/** Refuses (422) parameters or content that could never run as the script says. */
function assertRunnable(row: Pick<Script, 'kind' | 'content' | 'parameters'>): void {
  const details = [...checkDefinitions(row.parameters), ...checkKind(row.kind, row.content)];
  if (details.length > 0) throw unprocessable('script is not valid', details);
}

/**
 * The script library. A script's `version` counts changes to what runs (content, language,
 * parameters); each is kept in script_versions, so a job's `script_version` always names the
 * text it ran. Renames, tags, description, timeout, max_attempts and the like change the script,
 * not its version: they say how it runs, not what.
 */
export class ScriptsService {
  readonly #db: Executor;
  readonly #clock: Clock;
  readonly #audit: AuditLog;
  readonly #usage: Usage;

  constructor(deps: { db: Executor; clock: Clock; audit: AuditLog; usage: Usage }) {
    this.#db = deps.db;
    this.#clock = deps.clock;
    this.#audit = deps.audit;
    this.#usage = deps.usage;
  }

  async create(ctx: RequestContext, input: ScriptCreateBody): Promise<ScriptView> {
    const now = this.#clock.now().toISOString();
    const row: Script = {
      id: newId(),
      org_id: ctx.orgId,
      name: input.name,
      description: input.description ?? '',
      kind: input.kind ?? 'script',
      language: input.language,
      content: input.content,
      target_os_type: input.target_os_type ?? null,
      parameters: normalizeDefinitions(input.parameters ?? []),
      tags: [...new Set(input.tags ?? [])],
      timeout_seconds: input.timeout_seconds ?? null,
      max_attempts: input.max_attempts ?? null,
      version: 1,
      created_by: ctx.userId,
      created_at: now,
      updated_at: now,
    };
    assertRunnable(row);
    return inTransaction(this.#db, async (trx) => {
      if (!(await scriptsRepo.insert(trx, row))) throw nameTaken(row.name);
      await this.#keepVersion(trx, row, ctx.userId);
      const created = scriptView(row);
      await this.#audit.record(trx, ctx, {
        action: 'created',
        entityType: 'script',
        entityId: row.id,
        after: created,
      });
      return created;
    });
  }

  async list(orgId: string, filter: ScriptFilter, page: PageParams): Promise<Page<ScriptView>> {
    return mapPage(await scriptsRepo.list(this.#db, orgId, filter, page), scriptView);
  }

  async get(orgId: string, id: string): Promise<ScriptView> {
    return scriptView(await this.row(orgId, id));
  }

  /** The stored row, for running it; another organisation's id is not found. */
  async row(orgId: string, id: string): Promise<Script> {
    const row = await scriptsRepo.get(this.#db, orgId, id);
    if (!row) throw notFound('script');
    return row;
  }

  async update(ctx: RequestContext, id: string, input: ScriptUpdateBody): Promise<ScriptView> {
    return inTransaction(this.#db, async (trx) => {
      const before = await scriptsRepo.lock(trx, ctx.orgId, id);
      if (!before) throw notFound('script');
      const next: Script = {
        ...before,
        name: input.name ?? before.name,
        description: input.description ?? before.description,
        kind: input.kind ?? before.kind,
        language: input.language ?? before.language,
        content: input.content ?? before.content,
        target_os_type: input.target_os_type === undefined ? before.target_os_type : input.target_os_type,
        parameters:
          input.parameters === undefined ? before.parameters : normalizeDefinitions(input.parameters),
        tags: input.tags === undefined ? before.tags : [...new Set(input.tags)],
        timeout_seconds: input.timeout_seconds === undefined ? before.timeout_seconds : input.timeout_seconds,
        max_attempts: input.max_attempts === undefined ? before.max_attempts : input.max_attempts,
        updated_at: this.#clock.now().toISOString(),
      };
      assertRunnable(next);
      const runsDifferently =
        next.content !== before.content ||
        next.language !== before.language ||
        !isDeepStrictEqual(next.parameters, before.parameters);
      if (runsDifferently) next.version = before.version + 1;
      const { id: _id, org_id: _org, created_by: _by, created_at: _at, ...changes } = next;
      if (!(await scriptsRepo.update(trx, ctx.orgId, id, changes satisfies ScriptChanges)))
        throw nameTaken(next.name);
      if (runsDifferently) await this.#keepVersion(trx, next, ctx.userId);
      const after = scriptView(next);
      await this.#audit.record(trx, ctx, {
        action: 'modified',
        entityType: 'script',
        entityId: id,
        before: scriptView(before),
        after,
      });
      return after;
    });
  }

  /** Deletes a script and its versions; refused (409, naming them) while something uses it. */
  async remove(ctx: RequestContext, id: string): Promise<void> {
    await inTransaction(this.#db, async (trx) => {
      const before = await scriptsRepo.lock(trx, ctx.orgId, id);
      if (!before) throw notFound('script');
      await assertUnused(this.#usage, trx, ctx.orgId, 'script', id);
      await scriptsRepo.remove(trx, ctx.orgId, id);
      await this.#audit.record(trx, ctx, {
        action: 'deleted',
        entityType: 'script',
        entityId: id,
        before: scriptView(before),
      });
    });
  }

  async listVersions(orgId: string, id: string, page: PageParams): Promise<Page<ScriptVersionView>> {
    await this.row(orgId, id);
    return mapPage(await scriptsRepo.listVersions(this.#db, id, page), versionView);
  }

  async getVersion(orgId: string, id: string, version: number): Promise<ScriptVersionView> {
    await this.row(orgId, id);
    const row = await scriptsRepo.getVersion(this.#db, id, version);
    if (!row) throw notFound('script version');
    return versionView(row);
  }

  #keepVersion(trx: Executor, script: Script, userId: string | null): Promise<unknown> {
    return scriptsRepo.insertVersion(trx, versionOf(script, userId));
  }
}
