import { eventually } from '../support/eventually.js';

/** Polls a synchronous probe quickly: agent unit tests wait on in-memory state. */
export function waitFor<T>(probe: () => T | undefined, timeoutMs = 10_000): Promise<T> {
  return eventually(probe, { timeoutMs, intervalMs: 20 });
}
