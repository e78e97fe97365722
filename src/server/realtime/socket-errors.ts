import type { FastifyRequest } from 'fastify';
import type { WebSocket } from 'ws';

/**
 * Errors on an open WebSocket come from the peer (a frame over the size limit, a protocol
 * violation, a reset connection): worth a warning, not an error with a stack. For protocol
 * errors `ws` has already started the close handshake with the matching code (1009 for a
 * frame that is too big), so the socket is left to finish it; anything else is cut.
 */
export function onSocketError(
  error: Error & { code?: string },
  socket: WebSocket,
  request: FastifyRequest,
): void {
  request.log.warn(
    { path: request.routeOptions.url, code: error.code, reason: error.message },
    'websocket closed on error',
  );
  if (!error.code?.startsWith('WS_ERR_')) socket.terminate();
}
