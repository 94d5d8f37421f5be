// Goal: createKernel refuses a configuration it cannot run with one clear EINVAL naming the
// knob (never a KASSERT or a RangeError), and clamps the send buffer to memory as sbreserve
// clamps to kern.ipc.maxsockbuf, so an accepted configuration works.
// Method: each bad knob alone; then a kernel with less memory than the asked send buffer sends
// a file larger than memory through a draining transport and comes to rest.
import { describe, expect, it } from 'vitest';
import { createKernel, type KernelConfig, resolveConfig, SysError } from '../../src/index.js';
import { MemoryTransport } from '../../src/net/index.js';
import { testFile } from '../e2e/helpers.js';

const KiB = 1024;
const MiB = 1024 * KiB;

function refusal(config: KernelConfig): SysError {
  try {
    createKernel(config);
  } catch (e) {
    if (e instanceof SysError) return e;
    throw e;
  }
  throw new Error(`createKernel(${JSON.stringify(config)}) was accepted`);
}

describe('createKernel validates its configuration', () => {
  const bad: [string, KernelConfig, RegExp][] = [
    ['physmem below the minimum', { physmemBytes: 1024 }, /physmemBytes/],
    ['physmem not a page multiple', { physmemBytes: 4097 }, /physmemBytes.*4096/],
    ['negative physmem', { physmemBytes: -1 }, /physmemBytes/],
    ['physmem beyond what Node can allocate', { physmemBytes: 64 * 1024 * MiB }, /physmemBytes/],
    ['fractional physmem', { physmemBytes: 262144.5 }, /physmemBytes/],
    ['no sf_bufs in KVA mode', { mapping: 'kva', nsfbufs: 0 }, /nsfbufs/],
    ['no CPU', { cpuCount: 0 }, /cpuCount/],
    ['an unknown mapping', { mapping: 'bogus' as 'dmap' }, /mapping.*bogus/],
    ['a zero send buffer', { sndbufBytes: 0 }, /sndbufBytes/],
    ['NaN copy buffer', { copyBufferBytes: Number.NaN }, /copyBufferBytes/],
    ['a negative disk latency', { diskLatencyMs: -5 }, /diskLatencyMs/],
    ['a migration chance above 100', { cpuMigratePct: 101 }, /cpuMigratePct/],
    ['an MTU too small for TCP', { mtuBytes: 100 }, /mtuBytes/],
    ['an MTU above IP_MAXPACKET', { mtuBytes: 70_000 }, /mtuBytes/],
  ];
  it.each(bad)('%s: EINVAL naming the knob, in one line', (_what, config, knob) => {
    const e = refusal(config);
    expect(e.code).toBe('EINVAL');
    expect(e.message).toMatch(knob);
    expect(e.message).not.toContain('\n');
  });

  it('resolveConfig refuses the same way (the CLI checks before it boots)', () => {
    expect(() => resolveConfig({ physmemBytes: 4097 })).toThrow(SysError);
  });

  it('a send buffer larger than memory is clamped, and a file larger than memory is sent', async () => {
    const k = createKernel({ physmemBytes: 512 * KiB, sndbufBytes: MiB, mapping: 'dmap' });
    expect(k.config.sndbufBytes).toBeLessThanOrEqual(256 * KiB);
    expect(k.config.sndbufBytes).toBeGreaterThan(0);
    const file = await k.open(await testFile(2 * MiB, 81));
    const so = k.socket(new MemoryTransport({ autoDrain: true }));
    expect(await k.sendfile(file, so, 0, 0)).toBe(2 * MiB);
    await k.sodrain(so);
    k.soclose(so);
    await k.destroy();
    expect(k.atRest().leaks).toEqual([]);
  });
});
