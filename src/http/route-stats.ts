// Per-route request counters of the demo, kept beside the kernel's own (which know nothing of
// HTTP). Names follow the kernel's counter style: snake_case, units last.

export const ROUTES = ['zerocopy', 'copy', 'stream'] as const;
export type RouteName = (typeof ROUTES)[number];

export interface RouteCounters {
  /** Requests that reached the route (any method, any outcome). */
  requests: number;
  /** Responses by status code ("200", "206", "304", ...). */
  responses: Record<string, number>;
  /** Body bytes written for completed and partial responses (headers excluded). */
  body_bytes: number;
  /** Header bytes (status line, fields, multipart part headers) written. */
  header_bytes: number;
  /**
   * Bytes the CPU copied on the route's path: /zerocopy the headers (into mbufs); /copy the
   * headers plus twice the body (read(2) copy-out, write(2) copy-in); /stream the head plus the
   * body once (the host's read(2) into a Node buffer).
   */
  copied_bytes: number;
  /** Responses cut short because the client went away. */
  aborted: number;
  /** Responses cut short because the file changed while being sent (the connection is closed). */
  file_changed: number;
  /**
   * Responses sent whole while a write changed their file (fstat after the send differs): the
   * body holds what the page cache held at each moment, old bytes, new bytes or a mix.
   */
  changed_during_send: number;
  /** Responses cut short by another error after the head was sent. */
  errors: number;
  /** Responses being sent now. */
  inflight: number;
}

export function newRouteCounters(): RouteCounters {
  return {
    requests: 0,
    responses: {},
    body_bytes: 0,
    header_bytes: 0,
    copied_bytes: 0,
    aborted: 0,
    file_changed: 0,
    changed_during_send: 0,
    errors: 0,
    inflight: 0,
  };
}

export function countResponse(c: RouteCounters, status: number): void {
  const key = String(status);
  c.responses[key] = (c.responses[key] ?? 0) + 1;
}
