import { Ajv } from 'ajv';
import { AgentFrame } from '../../protocol/agent.js';

const validateFrame = new Ajv({ strict: false, coerceTypes: false }).compile<AgentFrame>(AgentFrame);

/** Parses one WebSocket message from an agent; null when it is not a valid frame. */
export function parseAgentFrame(raw: string): AgentFrame | null {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return null;
  }
  return validateFrame(value) ? value : null;
}
