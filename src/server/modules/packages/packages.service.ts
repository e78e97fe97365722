import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { inTransaction, type Executor } from '../../db/executor.js';
import type { Clock } from '../../lib/clock.js';
import { AppError, notFound } from '../../lib/errors.js';
import { newId } from '../../lib/ids.js';
import type { Logger } from '../../lib/logger.js';
import { mapPage, type Page, type PageParams } from '../../lib/pagination.js';
import { assertUnused, type Usage } from '../../lib/usage.js';
import type { RequestContext } from '../access/context.js';
import type { AuditLog } from '../audit/audit.service.js';
import type { SettingsService } from '../settings/settings.service.js';
import type { BlobStore } from '../storage/blob-store.js';
import { parseManifest } from './packages.manifest.js';
import { packagesRepo, type Package, type PackageFilter } from './packages.repo.js';
import type { EntryPoint, Manifest } from './packages.schemas.js';
import { compareSemver } from '../../lib/semver.js';
import { readPackageZip, type ZipLimits } from './zip.js';

const MIB = 1024 * 1024;

export interface PackageView {
  id: string;
  name: string;
  version: string;
  description: string;
  hash: string;
  size: number;
  entry_points: EntryPoint[];
  active: boolean;
  created_by: string | null;
  created_at: string;
  updated_at: string;
}

export interface PackageDetail extends PackageView {
  manifest: Record<string, unknown>;
}

/** An upload as it arrives: the file's bytes, and whether they were cut at the size limit. */
export interface PackageUpload {
  stream: Readable;
  truncated(): boolean;
}

export interface UploadLimits extends ZipLimits {
  maxUploadBytes: number;
}

export function packageView(row: Package): PackageView {
  return {
    id: row.id,
    name: row.name,
    version: row.version,
    description: row.description,
    hash: row.hash,
    size: row.size,
    entry_points: row.entry_points,
    active: row.active,
    created_by: row.created_by,
    created_at: row.created_at,
    updated_at: row.updated_at,
  };
}

export function packageDetail(row: Package): PackageDetail {
  return { ...packageView(row), manifest: row.manifest };
}

function versionTaken(manifest: Pick<Manifest, 'name' | 'version'>): AppError {
  return new AppError('conflict', `package "${manifest.name}" version ${manifest.version} exists`, {
    details: [{ field: 'fleetplane.json.version', message: 'already uploaded in this organisation' }],
  });
}

/**
 * Automation packages: zips with a `fleetplane.json` manifest, uploaded by developers, run by
 * robots. A package is a name and version of an organisation; its bytes are a blob kept by
 * content hash, shared by every package (of any organisation) with the same bytes and removed
 * with the last of them. An upload is proven safe (zip.ts) and valid (packages.manifest.ts)
 * from a temporary file before anything is kept; a refused one leaves nothing behind.
 */
export class PackagesService {
  readonly #db: Executor;
  readonly #clock: Clock;
  readonly #audit: AuditLog;
  readonly #settings: SettingsService;
  readonly #store: BlobStore;
  readonly #usage: Usage;
  readonly #logger: Logger;
  readonly #tmpDir: string;

  constructor(deps: {
    db: Executor;
    clock: Clock;
    audit: AuditLog;
    settings: SettingsService;
    store: BlobStore;
    usage: Usage;
    logger: Logger;
    /** Where uploads are written while they are checked: a directory of the server's own. */
    tmpDir: string;
  }) {
    this.#db = deps.db;
    this.#clock = deps.clock;
    this.#audit = deps.audit;
    this.#settings = deps.settings;
    this.#store = deps.store;
    this.#usage = deps.usage;
    this.#logger = deps.logger;
    this.#tmpDir = deps.tmpDir;
  }

  /** The organisation's limits on uploads (the packages settings), in bytes. */
  async uploadLimits(orgId: string): Promise<UploadLimits> {
    const settings = await this.#settings.read(orgId, 'packages');
    return {
      maxUploadBytes: settings.max_upload_mib * MIB,
      maxFiles: settings.max_files,
      maxUnpackedBytes: settings.max_unpacked_mib * MIB,
    };
  }

  /**
   * Keeps an uploaded package. The bytes go to a temporary file, are checked there, then stored
   * as a blob; the row and its audit event are written in one transaction after. Refusals:
   * 413 past `maxUploadBytes`, 422 for an unsafe zip or an invalid manifest, 409 for a name and
   * version the organisation has.
   */
  async upload(ctx: RequestContext, upload: PackageUpload, limits: UploadLimits): Promise<PackageDetail> {
    await mkdir(this.#tmpDir, { recursive: true });
    const tmp = path.join(this.#tmpDir, `${newId()}.zip`);
    try {
      try {
        await pipeline(upload.stream, createWriteStream(tmp, { mode: 0o600 }));
      } catch (error) {
        throw new AppError('bad_request', `the upload did not arrive whole: ${(error as Error).message}`);
      }
      if (upload.truncated())
        throw new AppError(
          'payload_too_large',
          `the package is larger than ${limits.maxUploadBytes / MIB} MiB (settings: packages.max_upload_mib)`,
        );
      const contents = await readPackageZip(tmp, limits);
      const manifest = parseManifest(contents.manifest, contents.files);
      // Asked before storing, so the usual 409 leaves the store untouched; the insert decides races.
      if (await packagesRepo.exists(this.#db, ctx.orgId, manifest.name, manifest.version))
        throw versionTaken(manifest);
      const ref = await this.#store.put(createReadStream(tmp));
      const now = this.#clock.now().toISOString();
      const row: Package = {
        id: newId(),
        org_id: ctx.orgId,
        name: manifest.name,
        version: manifest.version,
        description: manifest.description ?? '',
        hash: ref.hash,
        size: ref.size,
        manifest: JSON.parse(contents.manifest) as Record<string, unknown>,
        entry_points: manifest.entry_points,
        active: true,
        created_by: ctx.userId,
        created_at: now,
        updated_at: now,
      };
      let created: PackageDetail;
      try {
        created = await inTransaction(this.#db, async (trx) => {
          if (!(await packagesRepo.insert(trx, row))) throw versionTaken(manifest);
          const detail = packageDetail(row);
          await this.#audit.record(trx, ctx, {
            action: 'created',
            entityType: 'package',
            entityId: row.id,
            after: detail,
          });
          return detail;
        });
      } catch (error) {
        await this.#releaseBlob(ref.hash);
        throw error;
      }
      // The delete of the last other package with these bytes may have removed the blob between
      // the put and the insert: put it back while the temporary file is still there.
      if (!(await this.#store.has(ref.hash))) await this.#store.put(createReadStream(tmp));
      return created;
    } finally {
      await rm(tmp, { force: true });
    }
  }

  async list(orgId: string, filter: PackageFilter, page: PageParams): Promise<Page<PackageView>> {
    return mapPage(await packagesRepo.list(this.#db, orgId, filter, page), packageView);
  }

  async get(orgId: string, id: string): Promise<PackageDetail> {
    return packageDetail(await this.getById(orgId, id));
  }

  /** The package row, for other modules; another organisation's id is not found. */
  async getById(orgId: string, id: string): Promise<Package> {
    const row = await packagesRepo.get(this.#db, orgId, id);
    if (!row) throw notFound('package');
    return row;
  }

  /**
   * The package a process (or anything else) names: the given version, or without one the
   * latest active version by semantic version order. 422 when there is none.
   */
  async resolve(orgId: string, ref: { name: string; version?: string }): Promise<Package> {
    if (ref.version !== undefined) {
      const row = await packagesRepo.byVersion(this.#db, orgId, ref.name, ref.version);
      if (!row)
        throw new AppError('unprocessable', `package "${ref.name}" has no version ${ref.version}`, {
          details: [{ field: 'package', message: 'no such version' }],
        });
      return row;
    }
    const versions = await packagesRepo.activeVersions(this.#db, orgId, ref.name);
    const latest = versions.reduce<Package | undefined>(
      (best, row) => (best === undefined || compareSemver(row.version, best.version) > 0 ? row : best),
      undefined,
    );
    if (!latest)
      throw new AppError('unprocessable', `package "${ref.name}" has no active version`, {
        details: [{ field: 'package', message: 'no active version' }],
      });
    return latest;
  }

  /** The bytes (and size) of a blob that a package of the organisation is stored as; 404 otherwise. */
  async openBlob(orgId: string, hash: string): Promise<{ stream: Readable; size: number }> {
    if (!(await packagesRepo.orgHasHash(this.#db, orgId, hash))) throw notFound('package');
    const size = await this.#store.size(hash);
    const stream = size === undefined ? undefined : await this.#store.open(hash);
    if (size === undefined || !stream) {
      this.#logger.error({ hash }, 'a package blob is missing from the store');
      throw notFound('package content');
    }
    return { stream, size };
  }

  /** The package and its zip's bytes. */
  async download(orgId: string, id: string): Promise<{ row: Package; stream: Readable; size: number }> {
    const row = await this.getById(orgId, id);
    return { row, ...(await this.openBlob(orgId, row.hash)) };
  }

  /** Activates or deactivates a version; an inactive one is never picked when no version is named. */
  async setActive(ctx: RequestContext, id: string, active: boolean): Promise<PackageView> {
    return inTransaction(this.#db, async (trx) => {
      const before = await packagesRepo.lock(trx, ctx.orgId, id);
      if (!before) throw notFound('package');
      if (before.active === active) return packageView(before);
      const after: Package = { ...before, active, updated_at: this.#clock.now().toISOString() };
      await packagesRepo.setActive(trx, ctx.orgId, id, active, after.updated_at);
      await this.#audit.record(trx, ctx, {
        action: 'status_changed',
        entityType: 'package',
        entityId: id,
        before: packageView(before),
        after: packageView(after),
      });
      return packageView(after);
    });
  }

  /** Deletes a package; refused (409, naming them) while a process uses it. */
  async remove(ctx: RequestContext, id: string): Promise<void> {
    const hash = await inTransaction(this.#db, async (trx) => {
      const before = await packagesRepo.lock(trx, ctx.orgId, id);
      if (!before) throw notFound('package');
      await assertUnused(this.#usage, trx, ctx.orgId, 'package', id);
      await packagesRepo.remove(trx, ctx.orgId, id);
      await this.#audit.record(trx, ctx, {
        action: 'deleted',
        entityType: 'package',
        entityId: id,
        before: packageView(before),
      });
      return before.hash;
    });
    await this.#releaseBlob(hash);
  }

  /**
   * Removes a blob no package of any organisation references. A failure leaves an unreferenced
   * blob, which harms nothing: it is logged, not answered.
   */
  async #releaseBlob(hash: string): Promise<void> {
    try {
      if (!(await packagesRepo.hashInUse(this.#db, hash))) await this.#store.remove(hash);
    } catch (error) {
      this.#logger.error({ err: error, hash }, 'an unreferenced package blob could not be removed');
    }
  }
}
