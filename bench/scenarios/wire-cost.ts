// What the wire model costs the send path, printed with the micro-benchmarks: CPU per 64 KiB
// write(2) through a kernel socket (copy into clusters, tcp_output with its cut into bursts, the
// host write, the ACK) on a connection that is not captured and on one that is (packets encoded,
// then dropped by a sink that keeps nothing), rounds interleaved, CPU time from process.cpuUsage;
// and the cut alone, per 64 KiB batch of page mbufs, against the whole write.
import { createKernel } from '../../src/index.js';
import { M_EXT, Mbuf, MSIZE } from '../../src/mbuf/index.js';
import { MemoryTransport, type PcapSink } from '../../src/net/index.js';
import { IF_HW_TSOMAX_DEFAULT, newTcpStat, tcpSegment } from '../../src/net/netinet/index.js';

const WRITE_BYTES = 64 * 1024;
const ROUNDS = 8;
const OPS_PER_ROUND = 300;
const CUT_OPS = 200_000;

/** A capture that encodes every packet and keeps none (the cost of recording, not of memory). */
const nullSink: PcapSink = { secrets() {}, packet() {}, closed() {} };

function cpuUs(): number {
  const u = process.cpuUsage();
  return u.user + u.system;
}

export interface WireCost {
  readonly offUsPerWrite: number;
  readonly onUsPerWrite: number;
  readonly cutNsPerBatch: number;
}

export async function measureWireCost(): Promise<WireCost> {
  const kernel = createKernel({ physmemBytes: 64 * 1024 * 1024, invariants: false, sndbufBytes: 256 * 1024 });
  const off = kernel.socket(new MemoryTransport({ autoDrain: true }));
  const stop = kernel.sockets.pcapTap({ frames: 'wire', epochOffsetMs: 0, match: () => nullSink });
  const on = kernel.socket(new MemoryTransport({ autoDrain: true }));
  stop();
  const buf = new Uint8Array(WRITE_BYTES).fill(0x61);
  const spent = { off: 0, on: 0 };
  for (let round = 0; round < ROUNDS; round++) {
    for (const [name, so] of [
      ['off', off],
      ['on', on],
    ] as const) {
      const t0 = cpuUs();
      for (let i = 0; i < OPS_PER_ROUND; i++) {
        await kernel.write(so, buf);
        await kernel.sodrain(so);
      }
      if (round > 0) spent[name] += cpuUs() - t0;
    }
  }
  kernel.soclose(off);
  kernel.soclose(on);
  await kernel.destroy();
  const ops = (ROUNDS - 1) * OPS_PER_ROUND;
  return { offUsPerWrite: spent.off / ops, onUsPerWrite: spent.on / ops, cutNsPerBatch: cutCost() };
}

/** The cut of one 64 KiB batch of 16 page mbufs, in ns (counters only: no capture). */
function cutCost(): number {
  let head: Mbuf | null = null;
  for (let i = 0; i < WRITE_BYTES / 4096; i++) {
    const m = new Mbuf(new Uint8Array(MSIZE));
    m.m_len = 4096;
    m.m_flags = M_EXT;
    m.m_next = head;
    head = m;
  }
  const ifp = {
    mtuBytes: 1500,
    tso: true,
    hwTsomaxBytes: IF_HW_TSOMAX_DEFAULT,
    hwTsomaxsegcount: 35,
    hwTsomaxsegsizeBytes: 2048,
  };
  const tp = { t_maxseg: 1460, optlen: 12, hdrlen: 52, hwTls: false };
  const stat = newTcpStat();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < CUT_OPS; i++) tcpSegment(ifp, stat, tp, head as Mbuf, WRITE_BYTES, null);
  return Number(process.hrtime.bigint() - t0) / CUT_OPS;
}

export function wireCostMarkdown(c: WireCost): string {
  const share = (100 * c.cutNsPerBatch) / 1000 / c.offUsPerWrite;
  const extra = (100 * (c.onUsPerWrite - c.offUsPerWrite)) / c.offUsPerWrite;
  return [
    '## The wire model on the send path',
    '',
    `CPU per ${WRITE_BYTES / 1024} KiB write(2) through a kernel socket (copy in, tcp_output, host write, ACK), ${ROUNDS - 1} interleaved rounds of ${OPS_PER_ROUND}:`,
    '',
    '| connection | µs CPU per write |',
    '|---|---|',
    `| not captured (every connection by default) | ${c.offUsPerWrite.toFixed(1)} |`,
    `| captured (packets built and checksummed, then dropped) | ${c.onUsPerWrite.toFixed(1)} (${extra >= 0 ? '+' : ''}${extra.toFixed(0)}%) |`,
    '',
    `tcp_output's cut of one ${WRITE_BYTES / 1024} KiB batch (16 page mbufs, counters only): ${c.cutNsPerBatch.toFixed(0)} ns, ${share.toFixed(2)}% of a write that is not captured.`,
    '',
  ].join('\n');
}
