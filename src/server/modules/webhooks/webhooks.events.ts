import { isFinal } from '../../../protocol/jobs.js';
import { assertNever } from '../../lib/errors.js';
import type { FleetEvent } from '../../realtime/events.js';

/** The events a subscription can ask for, by their public names. */
export const webhookEventTypes = [
  'job.finished',
  'run.finished',
  'agent.online',
  'agent.offline',
  'alert.fired',
  'alert.resolved',
  'deployment.finished',
] as const;
export type WebhookEventType = (typeof webhookEventTypes)[number];

/** Sent only by the test action, whatever the subscription's filter. */
export const PING_EVENT = 'webhook.ping';

/** A bus event as a webhook sends it. */
export interface OutboundEvent {
  org_id: string;
  type: WebhookEventType;
  /**
   * Set for events the bus may announce more than once (a run settled again): unique per
   * subscription, so each is delivered once. Null for events that recur by nature (online, offline).
   */
  key: string | null;
  data: Record<string, unknown>;
}

const FINAL_RUN = new Set(['succeeded', 'failed', 'canceled']);
const FINAL_DEPLOYMENT = new Set(['succeeded', 'failed']);

/**
 * The one table from bus events to webhook events: each bus type says what it becomes, or null
 * when it is not one (a job still running, an internal event). Exhaustive, so a new bus event
 * type is a compile error here until someone decides.
 */
export function outboundEventOf(event: FleetEvent): OutboundEvent | null {
  const org_id = event.org_id;
  // only internal events (principals changed everywhere) have no organisation
  if (org_id === null) return null;
  switch (event.type) {
    case 'job.state':
      if (!isFinal(event.status)) return null;
      return {
        org_id,
        type: 'job.finished',
        key: `job:${event.job_id}:${event.attempt}`,
        data: {
          job_id: event.job_id,
          agent_id: event.agent_id,
          run_id: event.run_id,
          status: event.status,
          exit_code: event.exit_code,
          attempt: event.attempt,
        },
      };
    case 'run.progress':
      if (!FINAL_RUN.has(event.status)) return null;
      return {
        org_id,
        type: 'run.finished',
        key: `run:${event.run_id}:${event.status}`,
        data: { run_id: event.run_id, status: event.status, counts: event.counts },
      };
    case 'agent.status':
      if (event.status !== 'online' && event.status !== 'offline') return null;
      return {
        org_id,
        type: event.status === 'online' ? 'agent.online' : 'agent.offline',
        key: null,
        data: { agent_id: event.agent_id, status: event.status, connected: event.connected },
      };
    case 'alert.fired':
    case 'alert.resolved': {
      // whatever the alerts module says of its alert, but the routing fields
      const data = Object.fromEntries(
        Object.entries(event).filter(([field]) => field !== 'type' && field !== 'org_id'),
      );
      return { org_id, type: event.type, key: `${event.type}:${event.alert_id}`, data };
    }
    case 'deployment.state':
      if (!FINAL_DEPLOYMENT.has(event.status)) return null;
      return {
        org_id,
        type: 'deployment.finished',
        key: `deployment:${event.deployment_id}:${event.status}`,
        data: {
          deployment_id: event.deployment_id,
          service_id: event.service_id,
          status: event.status,
          counts: event.counts,
        },
      };
    case 'agent.deleted':
    case 'agent.facts':
    case 'agent.facts_requested':
    case 'job.output':
    case 'service.changed':
    case 'deployment.target':
    case 'deployment.step':
    case 'agent.jobs_available':
    case 'job.cancel':
    case 'agent.token_replaced':
    case 'principals.changed':
    case 'settings.changed':
      return null;
    default:
      return assertNever(event);
  }
}

/** Whether a filter entry (`job.finished`, `job.*`, `*`) takes an event name. */
function matches(pattern: string, type: string): boolean {
  if (pattern === '*') return true;
  if (pattern.endsWith('.*')) return type.startsWith(pattern.slice(0, -1));
  return pattern === type;
}

/** Whether a subscription's filter takes the event. */
export function filterTakes(filter: readonly string[], type: string): boolean {
  return filter.some((pattern) => matches(pattern, type));
}

/** The filter entries that match no known event (a typo, an event that does not exist). */
export function unknownPatterns(filter: readonly string[]): string[] {
  return filter.filter((pattern) => !webhookEventTypes.some((type) => matches(pattern, type)));
}
