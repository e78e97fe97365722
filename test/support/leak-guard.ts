import { afterAll, expect } from 'vitest';

/** Handles that a finished test file must not leave behind: servers, sockets, child processes. */
const LEAKY = new Set(['TCPServerWrap', 'TCPSocketWrap', 'ProcessWrap', 'PipeServerWrap']);

// Registered from the setup file, so it runs after every hook of the test file itself.
afterAll(async () => {
  // Closed handles leave the list on the next turns of the event loop.
  for (let i = 0; i < 20; i += 1) {
    if (!process.getActiveResourcesInfo().some((r) => LEAKY.has(r))) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  expect(
    process.getActiveResourcesInfo().filter((r) => LEAKY.has(r)),
    'open sockets, servers or child processes',
  ).toEqual([]);
});
