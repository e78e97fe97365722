import type { Logger } from '../../lib/logger.js';
import type { EventBus } from '../../realtime/events.js';
import type { SettingsService } from './settings.service.js';

/** The process logger's level, which pino lets a running process change. */
export interface LevelledLogger {
  level: string;
}

/**
 * Applies the `logging.level` setting to this node's logger without a restart: the level LOG_LEVEL
 * gave at start holds until the primary organisation saves a level (the instance's setting), then
 * every node follows each change, heard on the event bus. After a gap in the bus (events missed),
 * the setting is read again.
 */
export class LiveLogLevel {
  readonly #settings: Pick<SettingsService, 'readInstance' | 'readSaved'>;
  readonly #primaryOrgId: () => Promise<string | undefined>;
  readonly #bus: Pick<EventBus, 'subscribe' | 'onResume'>;
  readonly #target: LevelledLogger;
  readonly #logger: Logger;
  #unsubscribe: (() => void)[] = [];

  constructor(deps: {
    settings: Pick<SettingsService, 'readInstance' | 'readSaved'>;
    primaryOrgId: () => Promise<string | undefined>;
    bus: Pick<EventBus, 'subscribe' | 'onResume'>;
    target: LevelledLogger;
    logger: Logger;
  }) {
    this.#settings = deps.settings;
    this.#primaryOrgId = deps.primaryOrgId;
    this.#bus = deps.bus;
    this.#target = deps.target;
    this.#logger = deps.logger;
  }

  start(): void {
    this.#unsubscribe = [
      this.#bus.subscribe((event) => {
        if (event.type === 'settings.changed' && event.group === 'logging')
          this.#apply(() => this.#current());
      }),
      this.#bus.onResume(() => this.#apply(() => this.#saved())),
    ];
    this.#apply(() => this.#saved());
  }

  stop(): void {
    for (const unsubscribe of this.#unsubscribe) unsubscribe();
    this.#unsubscribe = [];
  }

  /** The instance's level as it is now (a default once saved means "back to info"). */
  async #current(): Promise<string> {
    return (await this.#settings.readInstance('logging')).level;
  }

  /** The level the primary organisation saved, if it saved one. */
  async #saved(): Promise<string | undefined> {
    const primary = await this.#primaryOrgId();
    return primary ? (await this.#settings.readSaved(primary, 'logging')).level : undefined;
  }

  #apply(read: () => Promise<string | undefined>): void {
    read().then(
      (level) => {
        if (level === undefined || level === this.#target.level) return;
        const note = { from: this.#target.level, to: level };
        // said at info, before the change when the new level hides info lines, else after it
        const quieter = level === 'warn' || level === 'error';
        if (quieter) this.#logger.info(note, 'log level changed by the logging.level setting');
        this.#target.level = level;
        if (!quieter) this.#logger.info(note, 'log level changed by the logging.level setting');
      },
      (error: unknown) => this.#logger.error({ err: error }, 'could not read the logging.level setting'),
    );
  }
}
