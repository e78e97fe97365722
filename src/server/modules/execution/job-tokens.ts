import { createHmac, timingSafeEqual } from 'node:crypto';
import { deriveKey } from '../../lib/crypto.js';
import { isId } from '../../lib/ids.js';

export const JOB_TOKEN_PREFIX = 'fpjt';

/**
 * Tokens a process job hands its process (`FP_ROBOT_TOKEN`), so that a process on an agent robot
 * speaks to the runner API as its robot: queue items, assets. A token names its job and is signed
 * with a key of its own; it is worth something only while that job is live (the engine checks at
 * each use), so nothing is stored and nothing needs revoking.
 */
export class JobTokens {
  readonly #key: Buffer;

  constructor(masterKey: Buffer) {
    this.#key = deriveKey(masterKey, 'job-tokens');
  }

  mint(jobId: string): string {
    return `${JOB_TOKEN_PREFIX}_${jobId}.${this.#signature(jobId)}`;
  }

  /** The job a token names, when its signature holds; else undefined. */
  jobOf(token: string): string | undefined {
    const match = /^fpjt_([0-9a-f-]{36})\.([A-Za-z0-9_-]{43})$/.exec(token);
    if (!match) return undefined;
    const [, jobId = '', signature = ''] = match;
    if (!isId(jobId)) return undefined;
    const expected = Buffer.from(this.#signature(jobId));
    const given = Buffer.from(signature);
    return expected.length === given.length && timingSafeEqual(expected, given) ? jobId : undefined;
  }

  #signature(jobId: string): string {
    return createHmac('sha256', this.#key).update(jobId).digest('base64url');
  }
}
