import { randomBytes } from 'node:crypto';
import { chmod, mkdir, open, readFile, rename, rm, rmdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Type, type Static } from 'typebox';
import { Compile } from 'typebox/compile';

/**
 * The agent's state file, `<state-dir>/agent.json` (0600, in a 0700 dir): the fingerprint,
 * made once per machine, and after registration the server, the agent token, which the
 * server shows only once, and the key that signs the builds it may update to.
 */
const AgentState = Type.Object({
  fingerprint: Type.String({ minLength: 8 }),
  server: Type.Optional(Type.String()),
  agent_id: Type.Optional(Type.String()),
  agent_token: Type.Optional(Type.String()),
  /** The server's build-signing key (SPKI DER, base64): the first one told is trusted from then on. */
  update_public_key: Type.Optional(Type.String()),
});
export type AgentState = Static<typeof AgentState>;

const checkState = Compile(AgentState);

export function newFingerprint(): string {
  return randomBytes(16).toString('hex');
}

/** Creates dir if needed and makes it private; mkdir's mode is subject to the umask, chmod is not. */
export async function ensurePrivateDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
}

/** Writes through a temporary file and a rename, so a crash leaves the old file or the new one. */
export async function writePrivateFile(file: string, content: string): Promise<void> {
  const temporary = `${file}.${process.pid}.tmp`;
  await writeFile(temporary, content, { mode: 0o600 });
  await chmod(temporary, 0o600);
  await rename(temporary, file);
}

/**
 * As writePrivateFile, and on disk before it resolves: the file is synced before the rename and
 * the directory after it, so a power cut cannot undo the write.
 */
export async function writeDurableFile(file: string, content: string): Promise<void> {
  const temporary = `${file}.${process.pid}.tmp`;
  const handle = await open(temporary, 'w', 0o600);
  try {
    await handle.writeFile(content);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await chmod(temporary, 0o600);
  await rename(temporary, file);
  // Windows cannot open a directory to sync it; NTFS journals the rename itself.
  if (process.platform === 'win32') return;
  const dir = await open(path.dirname(file), 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}

function isMissing(error: unknown): boolean {
  return (error as NodeJS.ErrnoException).code === 'ENOENT';
}

export class StateStore {
  readonly file: string;
  readonly spoolDir: string;
  readonly startedDir: string;

  constructor(readonly dir: string) {
    this.file = path.join(dir, 'agent.json');
    this.spoolDir = path.join(dir, 'spool');
    this.startedDir = path.join(dir, 'started');
  }

  /** The saved state; null when there is none. A damaged file is an error: it holds the only token. */
  async load(): Promise<AgentState | null> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (error) {
      if (isMissing(error)) return null;
      throw error;
    }
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      value = undefined;
    }
    if (!checkState.Check(value)) throw new Error(`${this.file} is not a valid agent state file`);
    return value;
  }

  async save(state: AgentState): Promise<void> {
    await ensurePrivateDir(this.dir);
    await writePrivateFile(this.file, `${JSON.stringify(state, null, 2)}\n`);
  }

  /**
   * Uninstall: removes what the agent wrote, then the directory if nothing else is in it, so a
   * mistaken --state-dir (a home directory, say) never loses anyone's files.
   */
  async remove(): Promise<void> {
    await rm(this.file, { force: true });
    await rm(this.spoolDir, { recursive: true, force: true });
    await rm(this.startedDir, { recursive: true, force: true });
    try {
      await rmdir(this.dir);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTEMPTY' && code !== 'EEXIST') throw error;
    }
  }
}
