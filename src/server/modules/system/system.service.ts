import { pingDatabase, type Database } from '../../db/database.js';
import type { EventBus } from '../../realtime/events.js';
import { countMembers } from '../access/access.service.js';
import { countAgents } from '../agents/agents.service.js';
import { countActiveKeys } from '../apikeys/apikeys.service.js';
import { packageVersion } from '../../lib/version.js';
import { HostProbe } from './host.js';

export class SystemService {
  readonly #database: Database;
  readonly #bus: Pick<EventBus, 'listening'>;
  readonly #startedAt = process.uptime();
  readonly #version = packageVersion();
  readonly #host: HostProbe;
  readonly #instanceName: () => Promise<string>;

  /** `dataDir`: the directory whose file system is reported as the host's disk. */
  constructor(deps: {
    database: Database;
    bus: Pick<EventBus, 'listening'>;
    dataDir: string;
    instanceName: () => Promise<string>;
  }) {
    this.#database = deps.database;
    this.#instanceName = deps.instanceName;
    this.#bus = deps.bus;
    this.#host = new HostProbe(deps.dataDir);
  }

  /** What keeps this node from serving fully, if anything: the database, or events of other nodes. */
  async unready(): Promise<'database' | 'events' | null> {
    if (!(await pingDatabase(this.#database))) return 'database';
    return this.#bus.listening ? null : 'events';
  }

  async info(orgId: string) {
    const db = this.#database.db;
    const [members, apiKeys, agents, host, instanceName] = await Promise.all([
      countMembers(db, orgId),
      countActiveKeys(db, orgId),
      countAgents(db, orgId),
      this.#host.read(),
      this.#instanceName(),
    ]);
    return {
      instance_name: instanceName,
      version: this.#version,
      uptime_seconds: Math.round(process.uptime() - this.#startedAt),
      database: this.#database.kind,
      host,
      counts: {
        members,
        api_keys: apiKeys,
        agents: agents.total,
        agents_online: agents.online,
        agents_connected: agents.connected,
      },
    };
  }
}
