import { createHash } from 'node:crypto';
import { readdir, readFile, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import type { ErrorObject } from 'ajv';
import type { Interpreter } from '../../../protocol/jobs.js';
import { jsonValidator } from '../../http/validation.js';
import { MAX_SCRIPT_BYTES, ServiceFile } from './services.schemas.js';

/**
 * The services directory: one folder per service, `<dir>/<folder>/service.json` and the script
 * it names beside it. Reading it only parses; ServicesService validates what it read with the
 * same rules as an API body, and syncs it.
 */

const FOLDER_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;
const DEFINITION = 'service.json';
/** A definition is small; one this large is a mistake, not a service. */
const MAX_DEFINITION_BYTES = 1024 * 1024;

const INTERPRETER_BY_EXTENSION: Record<string, Interpreter> = {
  '.sh': 'bash',
  '.ps1': 'powershell',
  '.py': 'python',
  '.bat': 'cmd',
  '.cmd': 'cmd',
};

/** One folder as read: the API body it defines and the hash of its files, or why it cannot be read. */
export type FolderEntry =
  | { folder: string; ok: true; body: Record<string, unknown>; name: string; hash: string }
  | { folder: string; ok: false; error: string };

/** Schema errors as one line each: `<path> <message>`. */
export function schemaErrors(errors: readonly ErrorObject[] | null | undefined): string {
  return (errors ?? [])
    .map((e) => `${e.instancePath === '' ? '(root)' : e.instancePath} ${e.message ?? 'is not valid'}`)
    .join('; ');
}

const validateFile = jsonValidator<ServiceFile>(ServiceFile);

/** Every folder of the directory, sorted by name; a directory that does not exist has none. */
export async function readServicesDirectory(dir: string): Promise<FolderEntry[]> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const folders = entries
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
  const read: FolderEntry[] = [];
  for (const folder of folders) {
    if (!FOLDER_PATTERN.test(folder)) {
      read.push({
        folder,
        ok: false,
        error:
          'folder names are letters, digits, `.`, `_` and `-`, starting with a letter or digit, at most 100',
      });
      continue;
    }
    try {
      read.push({ folder, ok: true, ...(await readFolder(path.join(dir, folder), folder)) });
    } catch (error) {
      if (!(error instanceof FolderError)) throw error;
      read.push({ folder, ok: false, error: error.message });
    }
  }
  return read;
}

class FolderError extends Error {}

async function readFolder(
  folderPath: string,
  folder: string,
): Promise<{ body: Record<string, unknown>; name: string; hash: string }> {
  const root = await realpath(folderPath);
  const definitionText = await readInside(root, DEFINITION, MAX_DEFINITION_BYTES);
  let parsed: unknown;
  try {
    parsed = JSON.parse(definitionText);
  } catch (error) {
    throw new FolderError(`${DEFINITION} is not valid JSON: ${(error as Error).message}`);
  }
  if (!validateFile(parsed)) throw new FolderError(`${DEFINITION}: ${schemaErrors(validateFile.errors)}`);
  const file = parsed;
  const scriptPath = file.script;
  if (
    path.isAbsolute(scriptPath) ||
    path.win32.isAbsolute(scriptPath) ||
    scriptPath.split(/[\\/]/).includes('..')
  )
    throw new FolderError(`script "${scriptPath}" must be a path inside the folder (no "..", not absolute)`);
  const content = await readInside(root, scriptPath, MAX_SCRIPT_BYTES);
  const interpreter = file.interpreter ?? INTERPRETER_BY_EXTENSION[path.extname(scriptPath).toLowerCase()];
  if (!interpreter)
    throw new FolderError(
      `cannot tell the interpreter of "${scriptPath}" from its extension; set "interpreter" in ${DEFINITION}`,
    );
  const { script: _script, interpreter: _interpreter, name, ...rest } = file;
  const serviceName = name ?? folder;
  const body = {
    ...rest,
    name: serviceName,
    script: { interpreter, content },
    runs_on: file.runs_on ?? { type: 'server' },
  };
  const hash = createHash('sha256').update(definitionText).update('\0').update(content).digest('hex');
  return { body, name: serviceName, hash };
}

/** A file's text, refused when it resolves (symlinks followed) outside the folder or is too large. */
async function readInside(root: string, relative: string, maxBytes: number): Promise<string> {
  let real: string;
  try {
    real = await realpath(path.join(root, relative));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new FolderError(`${relative} is missing`);
    throw new FolderError(`${relative} cannot be read: ${(error as Error).message}`);
  }
  if (!real.startsWith(root + path.sep)) throw new FolderError(`${relative} leads outside the folder`);
  const info = await stat(real);
  if (!info.isFile()) throw new FolderError(`${relative} is not a file`);
  if (info.size > maxBytes) throw new FolderError(`${relative} is larger than ${maxBytes} bytes`);
  return readFile(real, 'utf8');
}
