import path from 'node:path';
import { Writable, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import yauzl, { type Entry, type ZipFile } from 'yauzl';
import { AppError, type ErrorDetail } from '../../lib/errors.js';

export const MANIFEST_NAME = 'fleetplane.json';
export const MAX_MANIFEST_BYTES = 1024 * 1024;
/** A symlink's target is a path: anything longer is not one. */
const MAX_LINK_TARGET_BYTES = 4096;

export interface ZipLimits {
  maxFiles: number;
  /** The whole package once unpacked, as declared and as really inflated. */
  maxUnpackedBytes: number;
}

/** What a package zip holds, once proven safe to unpack. */
export interface ZipContents {
  /** The manifest's text. */
  manifest: string;
  /** The names of its files (directories and links left out). */
  files: Set<string>;
}

export function refused(message: string, details: ErrorDetail[] = []): AppError {
  return new AppError('unprocessable', message, { details });
}

function entryRefused(name: string, message: string): AppError {
  return refused(`entry "${name}" ${message}`, [{ field: 'file', entry: name, message }]);
}

/**
 * Why a path inside the package would escape where it is unpacked, or undefined when it stays
 * inside: absolute, a drive letter, a `..` segment, a backslash (a separator on Windows, where
 * `a\..\..\x` climbs), or a NUL.
 */
export function unsafePath(name: string): string | undefined {
  if (name === '') return 'has an empty name';
  if (name.includes('\0')) return 'has a NUL character in its name';
  if (name.includes('\\')) return 'has a backslash in its name';
  if (/^[a-zA-Z]:/.test(name)) return 'names a drive letter';
  if (name.startsWith('/')) return 'is an absolute path';
  if (name.split('/').includes('..')) return 'has a ".." segment';
  return undefined;
}

/** Unix file type bits of an entry, from the high half of its external attributes. */
function isSymlink(entry: Entry): boolean {
  return ((entry.externalFileAttributes >>> 16) & 0o170000) === 0o120000;
}

/** Whether a link at `name` pointing at `target` stays inside the package. */
function linkStaysInside(name: string, target: string): boolean {
  if (target === '' || /^[a-zA-Z]:|^\/|\\|\0/.test(target)) return false;
  const resolved = path.posix.normalize(path.posix.join(path.posix.dirname(name), target));
  return resolved !== '..' && !resolved.startsWith('../') && !path.posix.isAbsolute(resolved);
}

/**
 * Discards what it is given, counting it against a budget shared by all the entries; past the
 * budget it fails, which stops the inflating. Headers can lie about sizes (a zip bomb's do):
 * this counts what really comes out.
 */
class InflateBudget {
  #left: number;

  constructor(bytes: number) {
    this.#left = bytes;
  }

  /** A sink for one entry; `keep` collects up to `keepLimit` bytes of it (the manifest). */
  sink(name: string, keep?: Buffer[], keepLimit = 0): Writable {
    let kept = 0;
    return new Writable({
      write: (chunk: Buffer, _encoding, done) => {
        this.#left -= chunk.length;
        if (this.#left < 0)
          return done(
            refused('the package unpacks to more than the allowed size', [
              { field: 'file', entry: name, message: 'inflating it passed the unpacked size limit' },
            ]),
          );
        if (keep) {
          kept += chunk.length;
          if (kept > keepLimit) return done(entryRefused(name, `is larger than ${keepLimit} bytes`));
          keep.push(chunk);
        }
        done();
      },
    });
  }
}

function nameOf(entry: Entry): string {
  // decodeStrings is off, so names are raw: decoded here as yauzl would (UTF-8 flag, or CP437),
  // keeping backslashes, so they are judged as written.
  return yauzl.getFileNameLowLevel(entry.generalPurposeBitFlag, entry.fileNameRaw, entry.extraFields, true);
}

async function inflate(zip: ZipFile, entry: Entry, name: string, sink: Writable): Promise<void> {
  if (entry.isEncrypted()) throw entryRefused(name, 'is encrypted');
  let stream: Readable;
  try {
    stream = await zip.openReadStreamPromise(entry);
  } catch (error) {
    throw entryRefused(name, `cannot be read: ${(error as Error).message}`);
  }
  try {
    await pipeline(stream, sink);
  } catch (error) {
    if (error instanceof AppError) throw error;
    throw entryRefused(name, `cannot be inflated: ${(error as Error).message}`);
  }
}

async function openZip(file: string): Promise<ZipFile> {
  try {
    return await yauzl.openPromise(file, {
      lazyEntries: true,
      autoClose: false,
      decodeStrings: false,
      // Off: the inflate budget counts what entries really yield, whatever their headers say.
      validateEntrySizes: false,
      strictFileNames: true,
    });
  } catch (error) {
    throw refused('the upload is not a zip archive', [{ field: 'file', message: (error as Error).message }]);
  }
}

/**
 * Reads a package zip from a file (random access: the central directory first) and proves it safe
 * to unpack: at most `maxFiles` entries; no name that escapes (absolute, drive letter, `..`,
 * backslash); no link pointing outside; declared and really inflated sizes within
 * `maxUnpackedBytes`; no encrypted entry; a `fleetplane.json` manifest at the root of at most
 * 1 MiB. Every entry is inflated, to count it. Refusals are 422 errors whose details name the entry.
 */
export async function readPackageZip(file: string, limits: ZipLimits): Promise<ZipContents> {
  const zip = await openZip(file);
  try {
    if (zip.entryCount > limits.maxFiles)
      throw refused(`the package holds ${zip.entryCount} entries, more than the ${limits.maxFiles} allowed`, [
        { field: 'file', message: `at most ${limits.maxFiles} entries` },
      ]);
    const budget = new InflateBudget(limits.maxUnpackedBytes);
    const files = new Set<string>();
    let manifest: string | undefined;
    let declared = 0;
    const entries = zip.eachEntry();
    for (;;) {
      let next: IteratorResult<Entry>;
      try {
        next = await entries.next();
      } catch (error) {
        throw refused('the zip archive is damaged', [{ field: 'file', message: (error as Error).message }]);
      }
      if (next.done) break;
      const entry = next.value;
      const name = nameOf(entry);
      const unsafe = unsafePath(name);
      if (unsafe) throw entryRefused(name, unsafe);
      if (name === MANIFEST_NAME && entry.uncompressedSize > MAX_MANIFEST_BYTES)
        throw entryRefused(name, `is larger than ${MAX_MANIFEST_BYTES} bytes`);
      declared += entry.uncompressedSize;
      if (declared > limits.maxUnpackedBytes)
        throw refused('the package declares more unpacked bytes than allowed', [
          { field: 'file', entry: name, message: 'the declared sizes pass the unpacked size limit' },
        ]);
      if (name.endsWith('/')) continue;
      if (isSymlink(entry)) {
        const target: Buffer[] = [];
        await inflate(zip, entry, name, budget.sink(name, target, MAX_LINK_TARGET_BYTES));
        if (!linkStaysInside(name, Buffer.concat(target).toString('utf8')))
          throw entryRefused(name, 'is a symbolic link pointing outside the package');
        continue;
      }
      if (name === MANIFEST_NAME) {
        const kept: Buffer[] = [];
        await inflate(zip, entry, name, budget.sink(name, kept, MAX_MANIFEST_BYTES));
        manifest = Buffer.concat(kept).toString('utf8');
      } else {
        await inflate(zip, entry, name, budget.sink(name));
      }
      files.add(name);
    }
    if (manifest === undefined)
      throw refused(`the package has no ${MANIFEST_NAME} at its root`, [
        { field: 'file', entry: MANIFEST_NAME, message: 'missing' },
      ]);
    return { manifest, files };
  } finally {
    zip.close();
  }
}
