// What the host stream under a socket tells the wire model: the two ends' IPv4 addresses and ports
// (a net.Socket's, or those of the socket under a response), and the bytes the client sends, seen
// as the host hands them up (before any reader of the stream handles them).
import type { TcpAddrs } from './inet.js';

interface HostEnds {
  localAddress?: unknown;
  localPort?: unknown;
  remoteAddress?: unknown;
  remotePort?: unknown;
}

/** An IPv4 address as a number ("::ffff:a.b.c.d" and "::1" included), else null. */
export function inetAddr(text: unknown): number | null {
  if (typeof text !== 'string') return null;
  if (text === '::1') return 0x7f000001;
  const m = /^(?:::ffff:)?(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/i.exec(text);
  if (m === null) return null;
  const parts = m.slice(1, 5).map(Number);
  if (parts.some((p) => p > 255)) return null;
  return (
    (((parts[0] as number) << 24) |
      ((parts[1] as number) << 16) |
      ((parts[2] as number) << 8) |
      (parts[3] as number)) >>>
    0
  );
}

/** The connection's ends from the host stream, or null when it has none (a memory transport). */
export function tcpAddrsOf(transport: unknown): TcpAddrs | null {
  const t = transport as HostEnds & { socket?: HostEnds | null };
  const s: HostEnds = typeof t.remotePort === 'number' ? t : (t.socket ?? {});
  const localAddr = inetAddr(s.localAddress);
  const peerAddr = inetAddr(s.remoteAddress);
  if (typeof s.localPort !== 'number' || typeof s.remotePort !== 'number') return null;
  return {
    localAddr: localAddr ?? 0x7f000001,
    localPort: s.localPort,
    peerAddr: peerAddr ?? 0x7f000001,
    peerPort: s.remotePort,
  };
}

interface DataSource {
  prependListener(event: 'data', fn: (chunk: Buffer) => void): unknown;
  removeListener(event: 'data', fn: (chunk: Buffer) => void): unknown;
}

/**
 * Calls `fn` with each chunk the client sends, before the stream's own readers see it; returns
 * the function that stops it. A stream without events (a memory transport) gives nothing.
 */
export function hostInput(transport: unknown, fn: (chunk: Buffer) => void): () => void {
  const t = transport as Partial<DataSource> & { socket?: Partial<DataSource> | null };
  const src = typeof t.prependListener === 'function' ? t : t.socket;
  if (src === null || src === undefined || typeof src.prependListener !== 'function') return () => {};
  const s = src as DataSource;
  s.prependListener('data', fn);
  return () => {
    s.removeListener('data', fn);
  };
}
