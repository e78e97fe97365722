import { isDeepStrictEqual } from 'node:util';
import { inTransaction, type Executor } from '../../db/executor.js';
import type { Clock } from '../../lib/clock.js';
import { AppError, notFound } from '../../lib/errors.js';
import { newId } from '../../lib/ids.js';
import { mapPage, type Page, type PageParams } from '../../lib/pagination.js';
import { assertUnused, type EntityUser, type Usage } from '../../lib/usage.js';
import type { RequestContext } from '../access/context.js';
import type { AuditLog } from '../audit/audit.service.js';
import { InputValidator } from './processes.input.js';
import {
  processesRepo,
  type Process,
  type ProcessChanges,
  type ProcessFilter,
  type ProcessVersion,
} from './processes.repo.js';
import type { ProcessCreateBody, ProcessInput, ProcessUpdateBody } from './processes.schemas.js';

/** An entry point of a package, as its manifest declares it. */
export interface PackageEntryPoint {
  name: string;
  path: string;
  language: string;
  input_schema?: Record<string, unknown> | null;
}

/** A package version, as the packages service answers it. */
export interface PackageRow {
  id: string;
  name: string;
  version: string;
  hash: string;
  entry_points: PackageEntryPoint[];
  active: boolean;
}

/** What processes need of the packages module, wired in app.ts to its service. */
export interface PackageDirectory {
  /** That version of the package, or its latest active one without a version; 422 when there is none. */
  resolve(orgId: string, ref: { name: string; version?: string }): Promise<PackageRow>;
}

/**
 * The process jobs queued or running for a process, answered by the execution engine. It reads
 * through `db`, the caller's transaction, so no job can be queued between the check and the delete.
 */
export interface ProcessJobsCheck {
  activeJobs(db: Executor, orgId: string, processId: string): Promise<EntityUser[]>;
}

/** Processes that pin a package version: the packages service refuses (409) to delete one in use. */
export const processPackageUsage: Usage = {
  async usersOf(db, orgId, packageId) {
    const rows = await processesRepo.pinnedTo(db, orgId, packageId);
    return rows.map((r) => ({ type: 'process', id: r.id, name: r.name }));
  },
};

export interface ProcessView {
  id: string;
  name: string;
  description: string;
  package_name: string;
  package_version: string | null;
  entry_point: string;
  default_input: ProcessInput;
  timeout_seconds: number;
  max_attempts: number;
  retry_delay_seconds: number;
  robot_pool: string | null;
  assets: string[];
  version: number;
  created_by: string | null;
  created_at: string;
  updated_at: string;
}

export interface ProcessDetail extends ProcessView {
  current_package: { id: string; name: string; version: string; hash: string; active: boolean } | null;
  current_entry_point: Required<PackageEntryPoint> | null;
  resolve_error: string | null;
}

export type ProcessVersionView = Omit<ProcessVersion, 'id'> & { process_id: string };

/** What a process job runs: the lead's engine takes it as it is. */
export interface ProcessRunPlan {
  process: Pick<
    ProcessView,
    | 'id'
    | 'name'
    | 'version'
    | 'timeout_seconds'
    | 'max_attempts'
    | 'retry_delay_seconds'
    | 'robot_pool'
    | 'assets'
  >;
  package: { id: string; name: string; version: string; hash: string };
  entry_point: { name: string; path: string; language: string };
  input: ProcessInput;
}

/** What a process runs, and how: a change to any of these adds a version. */
const VERSIONED = [
  'package_name',
  'package_version',
  'entry_point',
  'default_input',
  'timeout_seconds',
  'max_attempts',
  'retry_delay_seconds',
  'robot_pool',
  'assets',
] as const satisfies readonly (keyof Process)[];

/** What decides the package, the entry point or the input's validity: a change to these is checked again. */
const RESOLVED = ['package_name', 'package_version', 'entry_point', 'default_input'] as const;

const DEFAULTS = { timeout_seconds: 3600, max_attempts: 1, retry_delay_seconds: 0 };

export function processView(row: Process): ProcessView {
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    package_name: row.package_name,
    package_version: row.package_version,
    entry_point: row.entry_point,
    default_input: row.default_input,
    timeout_seconds: row.timeout_seconds,
    max_attempts: row.max_attempts,
    retry_delay_seconds: row.retry_delay_seconds,
    robot_pool: row.robot_pool,
    assets: row.assets,
    version: row.version,
    created_by: row.created_by,
    created_at: row.created_at,
    updated_at: row.updated_at,
  };
}

function versionView(row: ProcessVersion): ProcessVersionView {
  const { id: _id, ...rest } = row;
  return rest;
}

function nameTaken(name: string): AppError {
  return new AppError('conflict', `a process named "${name}" exists`, {
    details: [{ field: 'name', message: 'already used in this organisation' }],
  });
}

function entryPointOf(pkg: PackageRow, name: string): PackageEntryPoint {
  const entry = pkg.entry_points.find((e) => e.name === name);
  if (entry) return entry;
  throw new AppError('unprocessable', `package ${pkg.name}@${pkg.version} has no entry point "${name}"`, {
    details: [
      {
        field: 'entry_point',
        message: `not an entry point of ${pkg.name}@${pkg.version}`,
        entry_point: name,
        known: pkg.entry_points.map((e) => e.name),
      },
    ],
  });
}

/**
 * Processes: a package's entry point published for robots to run, with its default input,
 * timeout, retry policy, robot pool and credential assets. A process names its package by name and
 * version, or by name alone for the latest active version, resolved again each time it runs. Its
 * `version` counts changes to what or how it runs (everything but name and description); each is
 * kept in process_versions, so a job can say which version of the process it ran.
 */
export class ProcessesService {
  readonly #db: Executor;
  readonly #clock: Clock;
  readonly #audit: AuditLog;
  readonly #packages: PackageDirectory;
  readonly #jobs: ProcessJobsCheck;
  readonly #inputs = new InputValidator();

  constructor(deps: {
    db: Executor;
    clock: Clock;
    audit: AuditLog;
    packages: PackageDirectory;
    jobs: ProcessJobsCheck;
  }) {
    this.#db = deps.db;
    this.#clock = deps.clock;
    this.#audit = deps.audit;
    this.#packages = deps.packages;
    this.#jobs = deps.jobs;
  }

  async create(ctx: RequestContext, input: ProcessCreateBody): Promise<ProcessView> {
    const now = this.#clock.now().toISOString();
    const row: Process = {
      id: newId(),
      org_id: ctx.orgId,
      name: input.name,
      description: input.description ?? '',
      package_name: input.package_name,
      package_version: input.package_version ?? null,
      package_id: null,
      entry_point: input.entry_point,
      default_input: input.default_input ?? {},
      timeout_seconds: input.timeout_seconds ?? DEFAULTS.timeout_seconds,
      max_attempts: input.max_attempts ?? DEFAULTS.max_attempts,
      retry_delay_seconds: input.retry_delay_seconds ?? DEFAULTS.retry_delay_seconds,
      robot_pool: input.robot_pool ?? null,
      assets: [...new Set(input.assets ?? [])],
      version: 1,
      created_by: ctx.userId,
      created_at: now,
      updated_at: now,
    };
    row.package_id = await this.#checkRunnable(row);
    return inTransaction(this.#db, async (trx) => {
      if (!(await processesRepo.insert(trx, row))) throw nameTaken(row.name);
      await this.#keepVersion(trx, row, ctx.userId);
      const created = processView(row);
      await this.#audit.record(trx, ctx, {
        action: 'created',
        entityType: 'process',
        entityId: row.id,
        after: created,
      });
      return created;
    });
  }

  async list(orgId: string, filter: ProcessFilter, page: PageParams): Promise<Page<ProcessView>> {
    return mapPage(await processesRepo.list(this.#db, orgId, filter, page), processView);
  }

  /** The process, with the package version and entry point it resolves to now. */
  /** Whether the organisation has the process (a queue's trigger names one). */
  async exists(orgId: string, id: string): Promise<boolean> {
    return (await processesRepo.get(this.#db, orgId, id)) !== undefined;
  }

  async get(orgId: string, id: string): Promise<ProcessDetail> {
    const row = await this.#row(orgId, id);
    const detail: ProcessDetail = {
      ...processView(row),
      current_package: null,
      current_entry_point: null,
      resolve_error: null,
    };
    try {
      const pkg = await this.#resolvePackage(row);
      const { id: pkgId, name, version, hash, active } = pkg;
      detail.current_package = { id: pkgId, name, version, hash, active };
      const entry = entryPointOf(pkg, row.entry_point);
      detail.current_entry_point = { ...entry, input_schema: entry.input_schema ?? null };
    } catch (error) {
      if (!(error instanceof AppError) || error.code !== 'unprocessable') throw error;
      detail.resolve_error = error.message;
    }
    return detail;
  }

  async update(ctx: RequestContext, id: string, input: ProcessUpdateBody): Promise<ProcessView> {
    const current = await this.#row(ctx.orgId, id);
    const next = applyChanges(current, input, this.#clock.now().toISOString());
    // A change to what resolves is checked before the transaction: the packages service reads on its own.
    const packageId = changed(current, next, RESOLVED) ? await this.#checkRunnable(next) : undefined;
    return inTransaction(this.#db, async (trx) => {
      const before = await processesRepo.lock(trx, ctx.orgId, id);
      if (!before) throw notFound('process');
      // Re-applied on the locked row, so a concurrent edit of other fields is not lost.
      const after = applyChanges(before, input, next.updated_at);
      if (changed(next, after, RESOLVED))
        throw new AppError('conflict', 'the process changed while this change was checked; try again');
      if (packageId !== undefined) after.package_id = packageId;
      const runsDifferently = changed(before, after, VERSIONED);
      if (runsDifferently) after.version = before.version + 1;
      const { id: _id, org_id: _org, created_by: _by, created_at: _at, ...changes } = after;
      if (!(await processesRepo.update(trx, ctx.orgId, id, changes satisfies ProcessChanges)))
        throw nameTaken(after.name);
      if (runsDifferently) await this.#keepVersion(trx, after, ctx.userId);
      const view = processView(after);
      await this.#audit.record(trx, ctx, {
        action: 'modified',
        entityType: 'process',
        entityId: id,
        before: processView(before),
        after: view,
      });
      return view;
    });
  }

  /** Deletes a process and its versions; refused (409, naming them) while its jobs are queued or running. */
  async remove(ctx: RequestContext, id: string): Promise<void> {
    await inTransaction(this.#db, async (trx) => {
      const before = await processesRepo.lock(trx, ctx.orgId, id);
      if (!before) throw notFound('process');
      const jobs = this.#jobs;
      await assertUnused(
        { usersOf: (db, orgId, processId) => jobs.activeJobs(db, orgId, processId) },
        trx,
        ctx.orgId,
        'process',
        id,
      );
      await processesRepo.remove(trx, ctx.orgId, id);
      await this.#audit.record(trx, ctx, {
        action: 'deleted',
        entityType: 'process',
        entityId: id,
        before: processView(before),
      });
    });
  }

  async listVersions(orgId: string, id: string, page: PageParams): Promise<Page<ProcessVersionView>> {
    await this.#row(orgId, id);
    return mapPage(await processesRepo.listVersions(this.#db, id, page), versionView);
  }

  async getVersion(orgId: string, id: string, version: number): Promise<ProcessVersionView> {
    await this.#row(orgId, id);
    const row = await processesRepo.getVersion(this.#db, id, version);
    if (!row) throw notFound('process version');
    return versionView(row);
  }

  /**
   * What a job of the process runs now: the package version it resolves to, the entry point, and
   * its default input with the override's keys laid over it (shallow), checked against the entry
   * point's input_schema (422, one detail per field, `input/<pointer>`). For the execution engine.
   */
  async resolveForRun(
    orgId: string,
    processId: string,
    inputOverride?: ProcessInput,
  ): Promise<ProcessRunPlan> {
    const row = await this.#row(orgId, processId);
    const pkg = await this.#resolvePackage(row);
    const entry = entryPointOf(pkg, row.entry_point);
    const input = { ...row.default_input, ...inputOverride };
    this.#checkInput(pkg, entry, input, 'input');
    const { id, name, version, timeout_seconds, max_attempts, retry_delay_seconds, robot_pool, assets } = row;
    return {
      process: { id, name, version, timeout_seconds, max_attempts, retry_delay_seconds, robot_pool, assets },
      package: { id: pkg.id, name: pkg.name, version: pkg.version, hash: pkg.hash },
      entry_point: { name: entry.name, path: entry.path, language: entry.language },
      input,
    };
  }

  async #row(orgId: string, id: string): Promise<Process> {
    const row = await processesRepo.get(this.#db, orgId, id);
    if (!row) throw notFound('process');
    return row;
  }

  #resolvePackage(row: Pick<Process, 'org_id' | 'package_name' | 'package_version'>): Promise<PackageRow> {
    return this.#packages.resolve(row.org_id, {
      name: row.package_name,
      ...(row.package_version === null ? {} : { version: row.package_version }),
    });
  }

  /**
   * Refuses (422) a process whose package, entry point or default input could not run; answers the
   * package row a pinned version names (null for the latest active version, which moves).
   */
  async #checkRunnable(row: Process): Promise<string | null> {
    const pkg = await this.#resolvePackage(row);
    const entry = entryPointOf(pkg, row.entry_point);
    this.#checkInput(pkg, entry, row.default_input, 'default_input');
    return row.package_version === null ? null : pkg.id;
  }

  #checkInput(pkg: PackageRow, entry: PackageEntryPoint, input: ProcessInput, root: string): void {
    if (!entry.input_schema) return;
    this.#inputs.check(`${pkg.hash}:${entry.name}`, entry.input_schema, input, root);
  }

  #keepVersion(trx: Executor, process: Process, userId: string | null): Promise<unknown> {
    return processesRepo.insertVersion(trx, {
      id: newId(),
      process_id: process.id,
      version: process.version,
      package_name: process.package_name,
      package_version: process.package_version,
      entry_point: process.entry_point,
      default_input: process.default_input,
      timeout_seconds: process.timeout_seconds,
      max_attempts: process.max_attempts,
      retry_delay_seconds: process.retry_delay_seconds,
      robot_pool: process.robot_pool,
      assets: process.assets,
      created_by: userId,
      created_at: process.updated_at,
    });
  }
}

/** The process as a change would leave it; fields the change leaves out keep their value. */
function applyChanges(row: Process, input: ProcessUpdateBody, now: string): Process {
  return {
    ...row,
    name: input.name ?? row.name,
    description: input.description ?? row.description,
    package_name: input.package_name ?? row.package_name,
    package_version: input.package_version === undefined ? row.package_version : input.package_version,
    entry_point: input.entry_point ?? row.entry_point,
    default_input: input.default_input ?? row.default_input,
    timeout_seconds: input.timeout_seconds ?? row.timeout_seconds,
    max_attempts: input.max_attempts ?? row.max_attempts,
    retry_delay_seconds: input.retry_delay_seconds ?? row.retry_delay_seconds,
    robot_pool: input.robot_pool === undefined ? row.robot_pool : input.robot_pool,
    assets: input.assets === undefined ? row.assets : [...new Set(input.assets)],
    updated_at: now,
  };
}

function changed(a: Process, b: Process, fields: readonly (keyof Process)[]): boolean {
  return fields.some((field) => !isDeepStrictEqual(a[field], b[field]));
}
