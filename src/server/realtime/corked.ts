import type { Socket } from 'node:net';

/** Sockets corked in this turn of the event loop. */
const corked = new Set<Socket>();
let uncorkScheduled = false;

function uncorkAll(): void {
  uncorkScheduled = false;
  for (const socket of corked) socket.uncork();
  corked.clear();
}

/**
 * Holds a socket's writes until this turn of the event loop is over, then sends them in one
 * write: a console following a fan-out gets tens of thousands of events, and a system call each
 * would cost more than all the rest of its stream.
 */
export function corkForThisTurn(socket: Socket | undefined): void {
  // undefined for an upgrade that came through no socket (fastify.injectWS)
  if (!socket || corked.has(socket) || socket.destroyed) return;
  socket.cork();
  corked.add(socket);
  if (uncorkScheduled) return;
  uncorkScheduled = true;
  // After the poll phase: the writes of every event handled in this turn are held by then.
  setImmediate(uncorkAll);
}
