import WebSocket from 'ws';
import type { AgentFrame } from '../protocol/agent.js';
import { collectFacts, detectInterpreters } from './facts.js';
import { endpoint } from './http-api.js';
import { errorMessage } from './log.js';
import { parseAgentArgs } from './main.js';
import { StateStore } from './state.js';

/** Bounded by the old agent too (TRIAL_TIMEOUT_MS); this keeps a lone trial from hanging. */
const WELCOME_TIMEOUT_MS = 25_000;

/**
 * `fleetplane-agent --trial --state-dir D [--server URL]`: what an update runs of the new build
 * before it takes the old one's place. It reads the agent's state and token, says hello with its
 * version on the server's trial socket (which hands out no jobs and leaves the live session be),
 * and exits 0 once welcomed; 1 otherwise.
 */
export async function runTrial(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const parsed = parseAgentArgs(argv, env);
  if (parsed.kind !== 'run') {
    process.stderr.write(`trial: ${parsed.kind === 'error' ? parsed.message : 'bad arguments'}\n`);
    return 2;
  }
  const { config } = parsed;
  const saved = await new StateStore(config.stateDir).load();
  const server = config.server ?? saved?.server;
  if (!saved?.agent_token || !server) {
    process.stderr.write(`trial: no registered agent in ${config.stateDir}\n`);
    return 1;
  }
  const interpreters = detectInterpreters(config.env, config.platform);
  const facts = collectFacts({
    fingerprint: config.fingerprint ?? saved.fingerprint,
    name: config.name,
    platform: config.platform,
    interpreters: interpreters.available,
  });
  const url = new URL(endpoint(server, '/api/v1/agent/update-trial'));
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { headers: { authorization: `Bearer ${saved.agent_token}` } });
    let settled = false;
    const settle = (code: number, why?: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (why) process.stderr.write(`trial: ${why}\n`);
      resolve(code);
    };
    const fail = (why: string) => {
      settle(1, why);
      ws.terminate();
    };
    const timer = setTimeout(() => fail('no welcome in time'), WELCOME_TIMEOUT_MS);
    ws.on('open', () => {
      const hello: AgentFrame = { type: 'hello', facts, running_job_ids: [] };
      ws.send(JSON.stringify(hello));
    });
    ws.on('message', (data: Buffer) => {
      let frame: { type?: unknown } | undefined;
      try {
        frame = JSON.parse(data.toString('utf8')) as { type?: unknown };
      } catch {
        return;
      }
      if (frame?.type !== 'welcome') return;
      settle(0);
      ws.close(1000, 'trial done');
    });
    ws.on('unexpected-response', (_request, response) =>
      fail(`the server refused the trial with HTTP ${response.statusCode}`),
    );
    ws.on('error', (error) => fail(errorMessage(error)));
    ws.on('close', (code) => fail(`closed with ${code} before the welcome`));
  });
}
