import { isWindows, type Interpreter } from '../../../protocol/jobs.js';
import { AppError } from '../../lib/errors.js';
import type { PoolSelector } from './jobs.schemas.js';

const linuxFamily = new Set(['ubuntu', 'debian', 'proxmox', 'rhel', 'centos', 'linux']);

/** A declared target OS matches the agent's: `windows` covers both Windows kinds, `linux` every distribution. */
export function osMatches(target: string, agentOs: string): boolean {
  if (target === agentOs) return true;
  if (target === 'windows') return isWindows(agentOs);
  if (target === 'linux') return linuxFamily.has(agentOs);
  return false;
}

export interface AgentCapabilities {
  os_type: string;
  /** What the agent reported finding; empty when it has not reported yet. */
  interpreters: readonly string[];
}

/**
 * Picks the interpreter the agent will really use, or refuses with 422. PowerShell runs off
 * Windows only where the agent reports `pwsh`; `cmd` needs Windows.
 */
export function resolveInterpreter(
  agent: AgentCapabilities,
  requested: Interpreter,
  targetOs: string | null,
): Interpreter {
  if (targetOs && !osMatches(targetOs, agent.os_type)) {
    throw new AppError('unprocessable', `this targets ${targetOs} but the agent runs ${agent.os_type}`, {
      details: [{ field: 'target_os_type', message: 'does not match the agent' }],
    });
  }
  const known = agent.interpreters;
  const windows = isWindows(agent.os_type);
  if (requested === 'cmd' && !windows) throw unavailable(requested, agent.os_type);
  if ((requested === 'powershell' || requested === 'pwsh') && !windows) {
    if (!known.includes('pwsh')) throw unavailable(requested, agent.os_type, 'it does not report pwsh');
    return 'pwsh';
  }
  if (known.length > 0 && !known.includes(requested) && !(windows && requested === 'powershell')) {
    throw unavailable(requested, agent.os_type, `it reports ${known.join(', ')}`);
  }
  return requested;
}

function unavailable(interpreter: string, os: string, why?: string): AppError {
  return new AppError(
    'unprocessable',
    `${interpreter} cannot run on this ${os} agent${why ? `: ${why}` : ''}`,
    {
      details: [{ field: 'interpreter', message: 'not available on the agent' }],
    },
  );
}

export interface PoolMember extends AgentCapabilities {
  tags: readonly string[];
  group_id: string | null;
}

/**
 * The agent is in the pool and runs the job's interpreter as asked: a pooled job's row keeps the
 * interpreter it was given, so an agent that would run another one (PowerShell as pwsh) is not
 * eligible.
 */
export function inPool(agent: PoolMember, pool: PoolSelector, interpreter: Interpreter): boolean {
  if (pool.os_type !== undefined && !osMatches(pool.os_type, agent.os_type)) return false;
  if (pool.group_id !== undefined && pool.group_id !== agent.group_id) return false;
  if (!(pool.tags ?? []).every((tag) => agent.tags.includes(tag))) return false;
  if (!(pool.capabilities ?? []).every((name) => agent.interpreters.includes(name))) return false;
  try {
    return resolveInterpreter(agent, interpreter, null) === interpreter;
  } catch (error) {
    if (error instanceof AppError) return false;
    throw error;
  }
}
