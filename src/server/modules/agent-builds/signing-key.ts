import { createPrivateKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { updateSigningText, type UpdateOffer } from '../../../protocol/agent.js';
import type { Executor } from '../../db/executor.js';
import type { Clock } from '../../lib/clock.js';
import type { SecretBox } from '../../lib/crypto.js';
import { agentUpdatesRepo } from './agent-updates.repo.js';

/**
 * The instance's Ed25519 key that signs agent builds. Made once by whichever node needs it first,
 * kept in the database (private half sealed) so every node signs with the same key, and held in
 * memory after the first read.
 */
export class BuildSigningKey {
  readonly #db: Executor;
  readonly #clock: Clock;
  readonly #box: SecretBox;
  #loaded: Promise<{ publicKey: string; privateKey: KeyObject }> | undefined;

  constructor(deps: { db: Executor; clock: Clock; box: SecretBox }) {
    this.#db = deps.db;
    this.#clock = deps.clock;
    this.#box = deps.box;
  }

  /** SPKI DER, base64: what agents keep to check the builds they are offered. */
  async publicKey(): Promise<string> {
    return (await this.#key()).publicKey;
  }

  /** Base64 signature of the build's version, platform and SHA-256. */
  async sign(build: Pick<UpdateOffer, 'version' | 'os' | 'arch' | 'sha256'>): Promise<string> {
    const { privateKey } = await this.#key();
    return sign(null, Buffer.from(updateSigningText(build), 'utf8'), privateKey).toString('base64');
  }

  #key(): Promise<{ publicKey: string; privateKey: KeyObject }> {
    // a failed read (the database away) is tried again next time, not remembered
    this.#loaded ??= this.#load().catch((error: unknown) => {
      this.#loaded = undefined;
      throw error;
    });
    return this.#loaded;
  }

  async #load(): Promise<{ publicKey: string; privateKey: KeyObject }> {
    let row = await agentUpdatesRepo.key(this.#db);
    if (!row) {
      const pair = generateKeyPairSync('ed25519');
      await agentUpdatesRepo.insertKeyIfAbsent(this.#db, {
        id: 'instance',
        public_key: pair.publicKey.export({ type: 'spki', format: 'der' }).toString('base64'),
        private_key: this.#box.seal(
          pair.privateKey.export({ type: 'pkcs8', format: 'der' }).toString('base64'),
        ),
        created_at: this.#clock.now().toISOString(),
      });
      row = await agentUpdatesRepo.key(this.#db);
      if (!row) throw new Error('the agent build signing key could not be stored');
    }
    const privateKey = createPrivateKey({
      key: Buffer.from(this.#box.open(row.private_key), 'base64'),
      format: 'der',
      type: 'pkcs8',
    });
    return { publicKey: row.public_key, privateKey };
  }
}
