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
   * Bytes the CPU copied on the route's path. The kernel routes read it from the kernel's count
   * on the connection's socket and user space's read(2) returns: /zerocopy the headers (into
   * mbufs); /copy the headers plus the body twice (copy-out, copy-in), over TLS the body read and
   * OpenSSL's records written (ciphertext, with its framing). /stream: the head plus the body once
   * (the host's read(2) into a Node buffer), over TLS also the records' write(2) into the socket.
   */
  copied_bytes: number;
  /**
   * Bytes the CPU encrypted on the route's path (TLS): OpenSSL's SSL_write before the takeover,
   * kernel TLS's software worker after it; 0 when the NIC encrypts (ifnet) or without TLS.
   */
  encrypted_bytes: number;
  /**
   * Memory traffic of the CPU on the route's path (src/kern/memtraffic.ts): each copy and each
   * encryption pass reads its input and writes its output once. The NIC's DMA read of every byte
   * sent is not included (it is the same on every route).
   */
  cpu_read_bytes: number;
  cpu_write_bytes: number;
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

/** Highest `inflight` of each counters record since the last takeInflightPeak. */
const inflightPeaks = new WeakMap<RouteCounters, number>();

export function newRouteCounters(): RouteCounters {
  let inflight = 0;
  const c: RouteCounters = {
    requests: 0,
    responses: {},
    body_bytes: 0,
    header_bytes: 0,
    copied_bytes: 0,
    encrypted_bytes: 0,
    cpu_read_bytes: 0,
    cpu_write_bytes: 0,
    aborted: 0,
    file_changed: 0,
    changed_during_send: 0,
    errors: 0,
    // An accessor, so that every change of the gauge also moves its high-water mark.
    get inflight() {
      return inflight;
    },
    set inflight(n: number) {
      inflight = n;
      if (n > (inflightPeaks.get(c) ?? 0)) inflightPeaks.set(c, n);
    },
  };
  return c;
}

/** The highest `inflight` since the last call; the next interval starts at the current value. */
export function takeInflightPeak(c: RouteCounters): number {
  const peak = Math.max(inflightPeaks.get(c) ?? 0, c.inflight);
  inflightPeaks.set(c, c.inflight);
  return peak;
}

export function countResponse(c: RouteCounters, status: number): void {
  const key = String(status);
  c.responses[key] = (c.responses[key] ?? 0) + 1;
}

/** Counts the CPU's passes over the bytes of a response: copies and encryptions, one read and one write each. */
export function countPasses(c: RouteCounters, copiedBytes: number, encryptedBytes: number): void {
  c.copied_bytes += copiedBytes;
  c.encrypted_bytes += encryptedBytes;
  c.cpu_read_bytes += copiedBytes + encryptedBytes;
  c.cpu_write_bytes += copiedBytes + encryptedBytes;
}
