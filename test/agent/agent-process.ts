// The agent as the CLI runs it, in its own process: tests send it real signals.
import { runAgentCommand } from '../../src/agent/main.js';

process.exitCode = await runAgentCommand(process.argv.slice(2), process.env);
