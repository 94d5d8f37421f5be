// Trace events on node:diagnostics_channel, free when nobody listens (hasSubscribers is checked
// before an event object is even built). The dashboard and tests subscribe by channel name.
import diagnosticsChannel from 'node:diagnostics_channel';

/** Channel names: one per room, like the kernel's dtrace providers. */
export const TRACE_CHANNELS = {
  vm: 'zcsim:vm',
  sfbuf: 'zcsim:sfbuf',
  mbuf: 'zcsim:mbuf',
  net: 'zcsim:net',
  ktls: 'zcsim:ktls',
  sendfile: 'zcsim:sendfile',
  http: 'zcsim:http',
} as const;

export type TraceRoom = keyof typeof TRACE_CHANNELS;

export interface TraceEvent {
  readonly kernelId: number;
  readonly event: string;
  readonly [field: string]: unknown;
}

const channels = new Map<TraceRoom, diagnosticsChannel.Channel>();

function channelOf(room: TraceRoom): diagnosticsChannel.Channel {
  let ch = channels.get(room);
  if (!ch) {
    ch = diagnosticsChannel.channel(TRACE_CHANNELS[room]);
    channels.set(room, ch);
  }
  return ch;
}

/** A room's tracer: `on` tells whether anyone listens; `emit` publishes when someone does. */
export interface Tracer {
  readonly on: boolean;
  emit(event: string, fields: () => Record<string, unknown>): void;
}

/** One class, so that every tracer has one shape and `on` inlines where the kernel checks it per page. */
class ChannelTracer implements Tracer {
  constructor(
    private readonly ch: diagnosticsChannel.Channel,
    private readonly kernelId: number,
  ) {}

  get on(): boolean {
    return this.ch.hasSubscribers;
  }

  emit(event: string, fields: () => Record<string, unknown>): void {
    if (this.ch.hasSubscribers) this.ch.publish({ kernelId: this.kernelId, event, ...fields() });
  }
}

export function tracer(room: TraceRoom, kernelId: number): Tracer {
  return new ChannelTracer(channelOf(room), kernelId);
}
