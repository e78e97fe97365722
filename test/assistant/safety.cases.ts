import type { SafetyLevel } from '../../src/server/modules/assistant/safety/verdict.js';

/** A row: the command, its expected level, and for a dangerous one the rule that must fire. */
export type SafetyCase = [command: string, level: SafetyLevel, rule?: string];
