import { createHmac, timingSafeEqual } from 'node:crypto';
import { deriveKey } from '../../lib/crypto.js';
import { isId } from '../../lib/ids.js';

export const DEPLOYMENT_TOKEN_PREFIX = 'fpdt';

/**
 * The token a deployment hands its script on each machine (`FP_DEPLOYMENT_TOKEN`): it names that
 * machine's target of the deployment and is signed with a key of its own. Nothing is stored: it is
 * worth something only while its target runs, and a short grace after (checked at each use).
 */
export class DeploymentTokens {
  readonly #key: Buffer;

  constructor(masterKey: Buffer) {
    this.#key = deriveKey(masterKey, 'deployment-tokens');
  }

  mint(targetId: string): string {
    return `${DEPLOYMENT_TOKEN_PREFIX}_${targetId}.${this.#signature(targetId)}`;
  }

  /** The target a token names, when its signature holds; else undefined. */
  targetOf(token: string): string | undefined {
    const match = /^fpdt_([0-9a-f-]{36})\.([A-Za-z0-9_-]{43})$/.exec(token);
    if (!match) return undefined;
    const [, targetId = '', signature = ''] = match;
    if (!isId(targetId)) return undefined;
    const expected = Buffer.from(this.#signature(targetId));
    const given = Buffer.from(signature);
    return expected.length === given.length && timingSafeEqual(expected, given) ? targetId : undefined;
  }

  #signature(targetId: string): string {
    return createHmac('sha256', this.#key).update(targetId).digest('base64url');
  }
}
