// Goal: tcp_output's cut as tcp_output.c makes it: TSO bursts of at most if_hw_tsomax minus the
// headers, trimmed to whole tso_segsz segments unless the burst empties the buffer; one MSS each
// without TSO; tcp_m_copym's scatter-gather limit (35 entries of 2048 bytes, M_EXTPG mbufs
// counting 3 more) shortening a burst; a small send copied into the header mbuf; an ifnet TLS
// burst never mixing records and plain mbufs; the struct tcpstat counts that follow; a seeded ISS
// and an MSS per connection.
// Method: chains of bare mbufs (only lengths and flags matter to the cut), exact cases worked out
// by hand, and a seeded property over random chains.
import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { createKernel } from '../../src/index.js';
import { M_EXT, M_EXTPG, Mbuf, MSIZE } from '../../src/mbuf/index.js';
import { MemoryTransport } from '../../src/net/index.js';
import {
  IF_HW_TSOMAX_DEFAULT,
  IF_HW_TSOMAXSEGCOUNT_DEFAULT,
  IF_HW_TSOMAXSEGSIZE_DEFAULT,
  type IfNet,
  newTcpStat,
  type TcpBurst,
  tcpSegment,
} from '../../src/net/netinet/index.js';

const IFP: IfNet = {
  mtuBytes: 1500,
  tso: true,
  hwTsomaxBytes: IF_HW_TSOMAX_DEFAULT,
  hwTsomaxsegcount: IF_HW_TSOMAXSEGCOUNT_DEFAULT,
  hwTsomaxsegsizeBytes: IF_HW_TSOMAXSEGSIZE_DEFAULT,
};
/** t_maxseg 1460 with timestamps: 12 option bytes, 52 bytes of headers, tso_segsz 1448. */
const TP = { t_maxseg: 1460, optlen: 12, hdrlen: 52, hwTls: false };
const SEGSZ = 1448;
/** 65518 - 52 - max_linkhdr 16 = 65450, trimmed to 45 segments. */
const TSO_FULL = 45 * SEGSZ;

/** A chain of mbufs of the given lengths; `extpg` marks them unmapped, `tls` gives them a session. */
function chain(lengths: readonly number[], opts: { extpg?: boolean; tls?: unknown } = {}): Mbuf {
  let head: Mbuf | null = null;
  let tail: Mbuf | null = null;
  for (const len of lengths) {
    const m = new Mbuf(new Uint8Array(MSIZE));
    m.m_len = len;
    m.m_flags = opts.extpg === true ? M_EXTPG : M_EXT;
    if (opts.tls !== undefined) m.m_epg = { ...m.m_epg_embedded, m_epg_tls: opts.tls };
    if (tail === null) head = m;
    else tail.m_next = m;
    tail = m;
  }
  return head as Mbuf;
}

function cut(
  m: Mbuf,
  len: number,
  ifp: IfNet = IFP,
  tp = TP,
): { bursts: TcpBurst[]; stat: ReturnType<typeof newTcpStat> } {
  const stat = newTcpStat();
  const bursts: TcpBurst[] = [];
  tcpSegment(ifp, stat, tp, m, len, (b) => bursts.push(b));
  return { bursts, stat };
}

describe('tcp_output cuts a batch into bursts', () => {
  it('1 MiB of page mbufs: 16 full TSO bursts of 45 segments, then the rest in one burst', () => {
    const len = 1024 * 1024;
    const { bursts, stat } = cut(chain(Array(256).fill(4096)), len);
    expect(bursts.slice(0, 16).every((b) => b.tso && b.lenBytes === TSO_FULL && b.segments === 45)).toBe(
      true,
    );
    const rest = len - 16 * TSO_FULL;
    expect(bursts.slice(16)).toEqual([
      {
        offsetBytes: 16 * TSO_FULL,
        lenBytes: rest,
        tso: true,
        segments: Math.ceil(rest / SEGSZ),
        seglimitCut: false,
        copied: false,
        mbufs: 2,
      },
    ]);
    expect(stat.tcps_sndpack).toBe(17);
    expect(stat.tcps_sndtotal).toBe(17);
    expect(stat.tso_bursts).toBe(17);
    expect(stat.wire_segments).toBe(16 * 45 + Math.ceil(rest / SEGSZ));
    expect(stat.tso_header_bytes).toBe((stat.wire_segments - 17) * 52);
    expect(stat.tso_seglimit_cuts).toBe(0);
  });

  it('unmapped 20 KiB mbufs: tcp_m_copym stops at the 35-entry limit (3 + 10 per mbuf)', () => {
    const { bursts, stat } = cut(chain(Array(8).fill(20480), { extpg: true }), 8 * 20480);
    // 35 - 13 - 13 = 9 left: the third mbuf gives (9 - 3 - 1) * 2048 bytes.
    expect(bursts[0]).toMatchObject({
      lenBytes: 2 * 20480 + 5 * 2048,
      tso: true,
      seglimitCut: true,
      mbufs: 3,
    });
    expect(bursts[0]!.segments).toBe(Math.ceil((2 * 20480 + 5 * 2048) / SEGSZ));
    expect(stat.tso_seglimit_cuts).toBeGreaterThan(0);
    expect(bursts.reduce((s, b) => s + b.lenBytes, 0)).toBe(8 * 20480);
  });

  it('without TSO: one MSS per packet, each a data packet of its own', () => {
    const len = 10_000;
    const { bursts, stat } = cut(chain([4096, 4096, 1808]), len, { ...IFP, tso: false });
    expect(bursts.map((b) => b.lenBytes)).toEqual([...Array(6).fill(SEGSZ), len - 6 * SEGSZ]);
    expect(bursts.every((b) => !b.tso && b.segments === 1)).toBe(true);
    expect(stat.tcps_sndpack).toBe(7);
    expect(stat.wire_segments).toBe(7);
  });

  it('a send of at most MHLEN - hdrlen - max_linkhdr (92) bytes is copied into the header mbuf', () => {
    const { bursts, stat } = cut(chain([40, 52]), 92);
    expect(bursts).toEqual([
      { offsetBytes: 0, lenBytes: 92, tso: false, segments: 1, seglimitCut: false, copied: true, mbufs: 0 },
    ]);
    expect(stat.hdr_copy_bytes).toBe(92);
    expect(stat.copym_mbufs).toBe(0);
    expect(cut(chain([93]), 93).bursts[0]).toMatchObject({ copied: false, mbufs: 1 });
  });

  it('ifnet TLS: a burst stops where plain mbufs give way to records (hw_tls)', () => {
    const plain = chain([3000]);
    plain.m_next = chain([16_413, 16_413], { extpg: true, tls: {} });
    const { bursts } = cut(plain, 3000 + 2 * 16_413, IFP, { ...TP, hwTls: true });
    expect(bursts[0]).toMatchObject({ lenBytes: 3000, tso: true, seglimitCut: false, mbufs: 1 });
    expect(bursts.reduce((s, b) => s + b.lenBytes, 0)).toBe(3000 + 2 * 16_413);
  });

  test.prop(
    [
      fc.array(fc.integer({ min: 1, max: 20480 }), { minLength: 1, maxLength: 80 }),
      fc.boolean(),
      fc.boolean(),
      fc.integer({ min: 576, max: 9000 }),
    ],
    { seed: 20, numRuns: 200 },
  )(
    'any chain: bursts cover it in order, within if_hw_tsomax, whole segments but the last',
    (lengths, extpg, tso, mtu) => {
      const len = lengths.reduce((s, n) => s + n, 0);
      const tp = { ...TP, t_maxseg: mtu - 40 };
      const segsz = tp.t_maxseg - tp.optlen;
      const { bursts, stat } = cut(chain(lengths, { extpg }), len, { ...IFP, tso, mtuBytes: mtu }, tp);
      let off = 0;
      for (const [i, b] of bursts.entries()) {
        expect(b.offsetBytes).toBe(off);
        expect(b.lenBytes).toBeGreaterThan(0);
        expect(b.lenBytes + tp.hdrlen + 16).toBeLessThanOrEqual(IF_HW_TSOMAX_DEFAULT);
        if (!b.tso) expect(b.lenBytes).toBeLessThanOrEqual(segsz);
        const last = i === bursts.length - 1;
        if (b.tso && !last && !b.seglimitCut) expect(b.lenBytes % segsz).toBe(0);
        expect(b.segments).toBe(b.tso ? Math.ceil(b.lenBytes / segsz) : 1);
        off += b.lenBytes;
      }
      expect(off).toBe(len);
      expect(stat.tcps_sndpack).toBe(bursts.length);
      expect(stat.wire_segments).toBe(bursts.reduce((s, b) => s + b.segments, 0));
    },
  );
});

describe('each connection has its sequence space and MSS', () => {
  it('a seeded ISS (the same seed replays the same numbers), an MSS of MTU - 40, its segments', async () => {
    const isses = (
      seed: number,
      mtuBytes?: number,
    ): { iss: number[]; mss: number; kernel: ReturnType<typeof createKernel> } => {
      const kernel = createKernel({
        physmemBytes: 4 * 1024 * 1024,
        seed,
        ...(mtuBytes !== undefined ? { mtuBytes } : {}),
      });
      const sockets = [0, 1, 2].map(() => kernel.socket(new MemoryTransport({ autoDrain: true })));
      return {
        iss: sockets.map((so) => so.so_pcb.t_seq.iss),
        mss: sockets[0]!.so_pcb.t_seq.t_maxseg,
        kernel,
      };
    };
    const a = isses(7);
    const b = isses(7);
    const c = isses(8, 16384);
    expect(a.iss).toEqual(b.iss);
    expect(new Set(a.iss).size).toBe(3);
    expect(c.iss).not.toEqual(a.iss);
    expect(a.mss).toBe(1460);
    expect(c.mss).toBe(16344);
    // lo0's MTU: one 64 KiB write is ceil(65536 / 16332) segments.
    const so = c.kernel.socket(new MemoryTransport({ autoDrain: true }));
    const before = c.kernel.stats().tcp.wire_segments;
    await c.kernel.write(so, new Uint8Array(65536));
    await c.kernel.sodrain(so);
    expect(c.kernel.stats().tcp.wire_segments - before).toBeGreaterThanOrEqual(Math.ceil(65536 / 16332));
    expect(so.so_pcb.t_seq.snd_una).toBe((so.so_pcb.t_seq.iss + 1 + 65536) >>> 0);
    for (const k of [a.kernel, b.kernel, c.kernel]) await k.destroy();
  });
});
