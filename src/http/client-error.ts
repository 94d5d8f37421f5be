// What a request the HTTP parser refuses gets: its 4xx, then a lingering close, as nginx's
// lingering_close does. fastify's default writes the answer and destroys the socket at once; when
// the client is still sending (a 70 KiB header, a request line past the limit), closing with its
// bytes unread makes the host send a reset, which can wipe the answer out of the client's receive
// queue before it is read. Here the answer goes out with a FIN, whatever the client still sends is
// read and dropped, and the socket is destroyed when the client closes or after LINGER_MS.
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { Clock } from '../kern/index.js';

/** nginx's lingering_timeout is 5 s; a refused client gets at most this long to finish sending. */
export const LINGER_MS = 2000;

/** The status for a parser error (Node's codes), as fastify's default handler picks it. */
function clientErrorStatus(code: unknown): 400 | 408 | 431 {
  if (code === 'HPE_HEADER_OVERFLOW') return 431;
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') return 408;
  return 400;
}

/** fastify's clientErrorHandler: the 4xx, a FIN, the rest of the request read and dropped. */
export function lingeringClientError(
  clock: Clock,
): (err: Error & { code?: unknown }, socket: Socket) => void {
  const lingering = new WeakSet<Socket>();
  return (err, socket) => {
    if (err.code === 'ECONNRESET' || socket.destroyed || lingering.has(socket)) return;
    lingering.add(socket);
    const status = clientErrorStatus(err.code);
    const body = `${status} ${STATUS_CODES[status] ?? 'Error'}\n`;
    if (socket.writable) {
      socket.end(
        `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: text/plain; charset=utf-8\r\n` +
          `Content-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`,
      );
    }
    socket.on('error', () => {});
    socket.resume();
    const timer = clock.setTimer(LINGER_MS, () => socket.destroy());
    socket.once('close', () => timer.cancel());
  };
}
