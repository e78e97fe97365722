/**
 * The `fleetplane` entry point. Commands load only what they need: the agent runs on every
 * managed machine and must not pay for loading the server.
 */
async function main(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  if (argv[0] === 'agent') {
    const { runAgentCommand } = await import('../agent/main.js');
    return runAgentCommand(argv.slice(1), env);
  }
  const { runCommand } = await import('./commands.js');
  return runCommand(argv, env);
}

main(process.argv.slice(2), process.env).then(
  (code) => {
    if (code >= 0) process.exit(code);
  },
  (error: unknown) => {
    console.error(`fleetplane: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);
