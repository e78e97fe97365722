/** One line per notable event; the agent has no logging dependency so it stays small to install. */
export type AgentLog = (message: string) => void;

export const stderrLog: AgentLog = (message) => {
  process.stderr.write(`[agent] ${message}\n`);
};

export const silentLog: AgentLog = () => undefined;

/** The message of anything thrown, for one-line logs. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
