import { execFile, spawn } from 'node:child_process';
import { createHash, createPublicKey, verify } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { chmod, rename, rm } from 'node:fs/promises';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { promisify } from 'node:util';
import { updateSigningText, type UpdateOffer, type UpdateResult } from '../protocol/agent.js';
import { endpoint } from './http-api.js';
import { errorMessage, type AgentLog } from './log.js';

/** The new build's trial run must be welcomed by the server within this long. */
export const TRIAL_TIMEOUT_MS = 30_000;
const DOWNLOAD_TIMEOUT_MS = 10 * 60_000;
/** Exit code of an agent that swapped itself under a service manager: the manager starts the new build. */
export const RESTART_EXIT_CODE = 75;

export interface SelfUpdateOptions {
  /** The running executable, replaced by the new build. */
  executable: string;
  /** Run by a service manager (FLEETPLANE_AGENT_SUPERVISED=1): it restarts the agent after the swap. */
  supervised: boolean;
}

/** What the updater needs from the agent. */
export interface SelfUpdateHost {
  server: string;
  token: string;
  stateDir: string;
  /** The server's build-signing key the agent kept; undefined if it never learned one. */
  updateKey(): string | undefined;
  log: AgentLog;
  report(result: UpdateResult): void;
  /** Takes no new job; resolves once none runs and every result reached the server. */
  drain(): Promise<void>;
  /** The agent stops; the process then restarts into the new build (see restartInto). */
  restart(): void;
}

/** Checks the offer's signature with the kept key: version, platform and SHA-256 are the server's. */
export function offerSignedBy(offer: UpdateOffer, publicKeyBase64: string): boolean {
  try {
    const key = createPublicKey({ key: Buffer.from(publicKeyBase64, 'base64'), format: 'der', type: 'spki' });
    return verify(
      null,
      Buffer.from(updateSigningText(offer), 'utf8'),
      key,
      Buffer.from(offer.signature, 'base64'),
    );
  } catch {
    return false;
  }
}

class UpdateRefused extends Error {}

/**
 * Replaces the running single-file agent with a newer build the server offers. States:
 * idle → fetching (download, size, SHA-256, signature) → trial (the new file runs once with the
 * agent's state and must be welcomed; the old agent keeps working meanwhile) → draining (no new
 * jobs; running ones finish) → swapped (old file kept as `.previous`, new one in place) → the agent
 * stops and restarts into it. Any failure before the swap deletes the new file, reports why, and
 * returns to idle on the old build, which never stopped. A build that failed is not tried again by
 * this process; the server does not offer it again either.
 */
export class SelfUpdater {
  #busy = false;
  #draining = false;
  readonly #failed = new Set<string>();

  constructor(
    private readonly options: SelfUpdateOptions,
    private readonly host: SelfUpdateHost,
  ) {}

  /** Waiting for jobs to end before the swap: the agent takes no new one. */
  get draining(): boolean {
    return this.#draining;
  }

  offer(offer: UpdateOffer): void {
    if (this.#busy || this.#failed.has(offer.sha256)) return;
    this.#busy = true;
    void this.#update(offer);
  }

  async #update(offer: UpdateOffer): Promise<void> {
    const { log } = this.host;
    const next = newFileBeside(this.options.executable);
    log(`update to ${offer.version} offered; fetching it`);
    try {
      await this.#fetch(offer, next);
      log(`update ${offer.version}: verified; trying it`);
      await this.#trial(next);
      log(`update ${offer.version}: trial passed; waiting for running jobs to finish`);
      this.#draining = true;
      await this.host.drain();
      await this.#swap(next);
    } catch (error) {
      await rm(next, { force: true }).catch(() => undefined);
      const reason = errorMessage(error);
      log(`update to ${offer.version} failed: ${reason}; staying on this version`);
      this.#failed.add(offer.sha256);
      this.#draining = false;
      this.host.report({
        version: offer.version,
        sha256: offer.sha256,
        ok: false,
        reason: reason.slice(0, 1000),
      });
      this.#busy = false;
      return;
    }
    log(`update ${offer.version}: swapped; restarting`);
    this.host.report({ version: offer.version, sha256: offer.sha256, ok: true });
    this.host.restart();
  }

  /** Downloads beside the executable, refusing anything the server's key did not sign. */
  async #fetch(offer: UpdateOffer, file: string): Promise<void> {
    const key = this.host.updateKey();
    if (!key) throw new UpdateRefused('no build-signing key was kept at registration');
    if (!offerSignedBy(offer, key))
      throw new UpdateRefused('the offer is not signed by the server this agent trusts');
    const response = await fetch(endpoint(this.host.server, offer.download_path), {
      headers: { authorization: `Bearer ${this.host.token}` },
      signal: AbortSignal.timeout(DOWNLOAD_TIMEOUT_MS),
    });
    if (!response.ok || !response.body) throw new UpdateRefused(`download answered HTTP ${response.status}`);
    const hash = createHash('sha256');
    let size = 0;
    const count = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        size += chunk.length;
        if (size > offer.size) return done(new UpdateRefused(`download is larger than ${offer.size} bytes`));
        hash.update(chunk);
        done(null, chunk);
      },
    });
    await pipeline(
      Readable.fromWeb(response.body as WebReadableStream<Uint8Array>),
      count,
      createWriteStream(file, { mode: 0o700 }),
    );
    if (size !== offer.size) throw new UpdateRefused(`download is ${size} bytes, not ${offer.size}`);
    const sha256 = hash.digest('hex');
    if (sha256 !== offer.sha256)
      throw new UpdateRefused(`download's SHA-256 ${sha256} is not the signed ${offer.sha256}`);
    await chmod(file, 0o755);
    // the injected blob breaks Node's own signature: macOS runs it signed ad hoc, as the installer does
    if (process.platform === 'darwin')
      await promisify(execFile)('codesign', ['--sign', '-', '--force', file]).catch((error: unknown) =>
        this.host.log(`could not sign the new build ad hoc (${errorMessage(error)}); trying it anyway`),
      );
  }

  /** The new build connects with this agent's state and must be welcomed, exit 0, in time. */
  #trial(file: string): Promise<void> {
    const child = spawn(file, ['--trial', '--state-dir', this.host.stateDir, '--server', this.host.server], {
      stdio: ['ignore', 'ignore', 'pipe'],
      timeout: TRIAL_TIMEOUT_MS,
      windowsHide: true,
    });
    let stderr = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (text: string) => {
      stderr = (stderr + text).slice(-500);
    });
    return new Promise((resolve, reject) => {
      child.on('error', (error) =>
        reject(new UpdateRefused(`the new build could not start: ${error.message}`)),
      );
      child.on('exit', (code, signal) => {
        if (code === 0) return resolve();
        const how = signal
          ? `was killed (${signal}; no welcome in ${TRIAL_TIMEOUT_MS / 1000}s?)`
          : `exited ${code}`;
        reject(new UpdateRefused(`the new build's trial ${how}${stderr.trim() ? `: ${stderr.trim()}` : ''}`));
      });
    });
  }

  /** The old file is kept as `.previous`; renaming a running executable is allowed on every OS. */
  async #swap(next: string): Promise<void> {
    const current = this.options.executable;
    await rm(`${current}.previous`, { force: true });
    await rename(current, `${current}.previous`);
    try {
      await rename(next, current);
    } catch (error) {
      await rename(`${current}.previous`, current);
      throw error;
    }
  }
}

/** Where the new build is written: beside the executable, still an `.exe` on Windows. */
function newFileBeside(executable: string): string {
  return /\.exe$/i.test(executable) ? executable.replace(/\.exe$/i, '.new.exe') : `${executable}.new`;
}

/**
 * After the agent stopped for an update: under a service manager exit so it starts the new build;
 * otherwise start it (detached, same arguments, same output) and leave. Resolves to the exit code.
 */
export function restartInto(options: SelfUpdateOptions, argv: string[], log: AgentLog): number {
  if (options.supervised) {
    log(`exiting with ${RESTART_EXIT_CODE} for the service manager to start the new build`);
    return RESTART_EXIT_CODE;
  }
  const child = spawn(options.executable, argv, { detached: true, stdio: 'inherit', windowsHide: true });
  child.unref();
  log(`restarted as pid ${child.pid ?? '?'}`);
  return 0;
}
