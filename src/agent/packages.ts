import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, rename, rm, stat, symlink } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import yauzl from 'yauzl';
import { endpoint } from './http-api.js';

/**
 * Automation packages as the agent keeps them: fetched from the server by content hash, checked
 * against that hash, and unpacked once into `<dir>/<hash>/`, which every later job of the package
 * reuses. The server refused unsafe archives already; the agent checks each path again, since a
 * cache directory is its own to keep safe.
 */
export class PackageCache {
  readonly #pending = new Map<string, Promise<string>>();

  constructor(private readonly options: { dir: string; server: string; token: () => string }) {}

  /** The directory holding the package's files, fetching and unpacking it the first time. */
  unpacked(hash: string): Promise<string> {
    if (!/^[0-9a-f]{64}$/.test(hash))
      return Promise.reject(new Error(`package hash ${hash} is not a SHA-256`));
    let pending = this.#pending.get(hash);
    if (!pending) {
      pending = this.#ensure(hash).finally(() => this.#pending.delete(hash));
      this.#pending.set(hash, pending);
    }
    return pending;
  }

  async #ensure(hash: string): Promise<string> {
    const target = path.join(this.options.dir, hash);
    if (await exists(target)) return target;
    await mkdir(this.options.dir, { recursive: true });
    const work = await mkdtemp(path.join(this.options.dir, '.incoming-'));
    try {
      const zip = path.join(work, 'package.zip');
      await this.#download(hash, zip);
      const files = path.join(work, 'files');
      await unzipSafely(zip, files);
      await rename(files, target).catch(async (error: unknown) => {
        // another agent process of the same machine unpacked it first
        if (!(await exists(target))) throw error;
      });
      return target;
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  }

  async #download(hash: string, file: string): Promise<void> {
    const response = await fetch(endpoint(this.options.server, `/api/v1/agent/packages/${hash}`), {
      headers: { authorization: `Bearer ${this.options.token()}` },
      signal: AbortSignal.timeout(10 * 60_000),
    });
    if (!response.ok || !response.body)
      throw new Error(`could not fetch package ${hash}: HTTP ${response.status}`);
    const digest = createHash('sha256');
    const body = Readable.fromWeb(response.body as WebReadableStream<Uint8Array>);
    body.on('data', (chunk: Buffer) => digest.update(chunk));
    await pipeline(body, createWriteStream(file));
    const got = digest.digest('hex');
    if (got !== hash) throw new Error(`package ${hash} arrived with hash ${got}; not run`);
  }
}

async function exists(file: string): Promise<boolean> {
  return stat(file).then(
    () => true,
    () => false,
  );
}

/** The path of a zip entry under `root`, or an error for one that would leave it. */
export function entryPath(root: string, name: string): string {
  const normalized = name.replace(/\\/g, '/');
  if (normalized.startsWith('/') || /^[A-Za-z]:/.test(normalized) || normalized.split('/').includes('..'))
    throw new Error(`package entry ${JSON.stringify(name)} leaves the package`);
  const resolved = path.resolve(root, normalized);
  if (resolved !== root && !resolved.startsWith(root + path.sep))
    throw new Error(`package entry ${JSON.stringify(name)} leaves the package`);
  return resolved;
}

/** A symbolic link of the package, made only when it points inside the package. */
async function linkInside(root: string, file: string, linkTarget: string, name: string): Promise<void> {
  const resolved = path.resolve(path.dirname(file), linkTarget);
  if (path.isAbsolute(linkTarget) || (resolved !== root && !resolved.startsWith(root + path.sep)))
    throw new Error(`package entry ${JSON.stringify(name)} links outside the package`);
  await symlink(linkTarget, file);
}

const S_IFMT = 0o170000;
const S_IFLNK = 0o120000;

/** Unpacks files, directories and links inside the package; an escaping path or link fails the job. */
export function unzipSafely(zipFile: string, root: string): Promise<void> {
  return new Promise((resolve, reject) => {
    yauzl.open(zipFile, { lazyEntries: true, strictFileNames: false }, (openError, zip) => {
      if (openError) return reject(openError);
      const fail = (error: unknown) => {
        zip.close();
        reject(error instanceof Error ? error : new Error(String(error)));
      };
      zip.on('error', fail);
      zip.on('end', () => resolve());
      zip.on('entry', (entry: yauzl.Entry) => {
        void (async () => {
          const target = entryPath(path.resolve(root), entry.fileName);
          if (entry.fileName.endsWith('/')) {
            await mkdir(target, { recursive: true });
            zip.readEntry();
            return;
          }
          await mkdir(path.dirname(target), { recursive: true });
          const stream = await new Promise<Readable>((ok, no) =>
            zip.openReadStream(entry, (error, readable) => (error ? no(error) : ok(readable))),
          );
          if (((entry.externalFileAttributes >>> 16) & S_IFMT) === S_IFLNK)
            await linkInside(
              path.resolve(root),
              target,
              (await buffer(stream)).toString('utf8'),
              entry.fileName,
            );
          else await pipeline(stream, createWriteStream(target, { mode: 0o700 }));
          zip.readEntry();
        })().catch(fail);
      });
      zip.readEntry();
    });
  });
}
