import type { Clock } from '../lib/clock.js';
import { newId } from '../lib/ids.js';
import type { Executor } from './executor.js';

/**
 * Leases on work that must run once across server nodes. A node holds a lease until it expires; it
 * renews it while it works, and another node takes it over once it has lapsed (that node died).
 */
export class NodeLeases {
  readonly #db: Executor;
  readonly #clock: Clock;
  /** This node, as lease rows name it. */
  readonly holder = newId();

  constructor(deps: { db: Executor; clock: Clock }) {
    this.#db = deps.db;
    this.#clock = deps.clock;
  }

  /** Takes or renews the lease `name` for `ttlMs`; true when this node holds it now. */
  async hold(name: string, ttlMs: number): Promise<boolean> {
    const now = this.#clock.now();
    const expiresAt = new Date(now.getTime() + ttlMs).toISOString();
    const result = await this.#db
      .insertInto('node_leases')
      .values({ name, holder: this.holder, expires_at: expiresAt })
      .onConflict((oc) =>
        oc
          .column('name')
          .doUpdateSet({ holder: this.holder, expires_at: expiresAt })
          .where((eb) =>
            eb.or([
              eb('node_leases.holder', '=', this.holder),
              eb('node_leases.expires_at', '<=', now.toISOString()),
            ]),
          ),
      )
      .executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0n) === 1;
  }

  /** Gives the lease up (on stop), so another node need not wait for it to lapse. */
  async release(name: string): Promise<void> {
    await this.#db
      .deleteFrom('node_leases')
      .where('name', '=', name)
      .where('holder', '=', this.holder)
      .execute();
  }
}
