import { runAgentCommand } from './main.js';
import { runTrial } from './update-trial.js';
import { agentVersion } from './version.js';

/**
 * The single-file agent's entry point (`npm run build:agents` bundles it): the same flags as
 * `fleetplane agent`, plus `--version`, and `--trial` (an update's trial run of a new build). In a single executable application argv[0] is the
 * executable's path and argv[1] the name it was started by, so the flags start at argv[2].
 */
async function main(argv: string[]): Promise<number> {
  if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-v')) {
    process.stdout.write(`${agentVersion()}\n`);
    return 0;
  }
  if (argv[0] === '--trial') return runTrial(argv.slice(1), process.env);
  return runAgentCommand(argv, process.env);
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`fleetplane-agent: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
