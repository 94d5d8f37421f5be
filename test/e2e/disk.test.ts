// Goal: the asynchronous page-in of sendfile(2) as FreeBSD 11+ does it, over real TCP:
// SF_NODISKIO on a cold file returns at once with the page-in started (bytes arrive intact),
// SF_NODISKIO meeting a page another send is reading gives EBUSY with the partial sbytes, a
// failed page-in aborts the socket with so_error EIO, SF_NOCACHE frees pages once sent, and the
// sfstat counters and `netstat -m` lines say so.
// Method: a simulated disk (latency per read) makes the order of events deterministic: a read
// started by one call is still in flight when the next call looks at its pages.
import { describe, expect, it } from 'vitest';
import { SF_NOCACHE, SF_NODISKIO, SF_USER_READAHEAD, type SysError } from '../../src/index.js';
import { ManualClock } from '../../src/kern/index.js';
import { waitFor } from '../support/wait.js';
import { finish, kernelBooter, loopback, settle, sliceHash, testFile } from './helpers.js';

const MiB = 1024 * 1024;

/** Moves a manual clock on by 10 ms every real millisecond until stopped. */
function keepTicking(clock: ManualClock): { stop(): void } {
  const t = setInterval(() => clock.advance(10), 1);
  return { stop: () => clearInterval(t) };
}

const boot = kernelBooter();

describe.each(['dmap', 'kva', 'extpg'] as const)('page-in, mapping %s', (mapping) => {
  it('SF_NODISKIO on a cold file returns at once, page-in started, bytes intact', async () => {
    // The disk answers only when the test moves the clock: the call returning first proves it
    // did not wait for the read.
    const clock = new ManualClock();
    const k = boot({ mapping, clock, diskLatencyMs: 50, nsfbufs: 64 });
    const path = await testFile(100_000, 3);
    const file = await k.open(path);
    const lb = await loopback();
    const so = k.socket(lb.client, { sndbufBytes: 256 * 1024 });
    const sbytes = await k.sendfile(file, so, 0, 0, { flags: SF_NODISKIO });
    expect(sbytes).toBe(100_000);
    expect(k.atRest().atRest, 'the read is still in flight').toBe(false);
    expect(so.so_snd.sb_ccc).toBe(100_000);
    expect(so.so_snd.sb_acc).toBe(0);
    const st = k.stats().sendfile;
    expect(st.sf_iocnt).toBe(1);
    expect(st.sf_pages_read).toBe(25);
    expect(st.sf_noiocnt).toBe(0);
    clock.advance(50);
    const got = await finish(k, lb);
    expect(got.sha256).toBe(await sliceHash(path, 0, 100_000));
    k.soclose(so);
    await lb.close();
  });

  it('SF_NODISKIO gives EBUSY with the partial sbytes when another send is paging in the same pages', async () => {
    // The disk answers only when the test moves the clock, so A's read is surely in flight
    // when B looks at its pages.
    const clock = new ManualClock();
    const k = boot({ mapping, clock, diskLatencyMs: 100, nsfbufs: 64 });
    const size = 200_000;
    const path = await testFile(size, 4);
    const file = await k.open(path);
    const ticking = keepTicking(clock);
    // Warm pages 0-1 only (no readahead).
    const warm = await loopback();
    const so0 = k.socket(warm.client);
    await k.sendfile(file, so0, 0, 8192, { flags: SF_USER_READAHEAD });
    await finish(k, warm);
    k.soclose(so0);
    await warm.close();
    ticking.stop();
    const a = await loopback();
    const soA = k.socket(a.client);
    const iosBefore = k.stats().sendfile.sf_iocnt;
    const sendingA = k.sendfile(file, soA, 8192, 0);
    await waitFor(() => k.stats().sendfile.sf_iocnt > iosBefore, 'the page-in to start');
    const b = await loopback();
    const soB = k.socket(b.client);
    let err: SysError | null = null;
    try {
      await k.sendfile(file, soB, 0, 0, { flags: SF_NODISKIO });
    } catch (e) {
      err = e as SysError;
    }
    expect(err?.code).toBe('EBUSY');
    expect(err?.sbytes).toBe(8192);
    expect(k.stats().sendfile.sf_busy).toBe(1);
    // B resumes without the flag: it sleeps on the busy pages and finishes.
    const resumingB = k.sendfile(file, soB, 8192, 0);
    const ticking2 = keepTicking(clock);
    expect(await resumingB).toBe(size - 8192);
    expect(await sendingA).toBe(size - 8192);
    const gotA = await finish(k, a);
    const gotB = await finish(k, b);
    ticking2.stop();
    expect(gotA.sha256).toBe(await sliceHash(path, 8192, size - 8192));
    expect(gotB.sha256).toBe(await sliceHash(path, 0, size));
    k.soclose(soA);
    k.soclose(soB);
    await a.close();
    await b.close();
  });

  it('a failed page-in aborts the socket with so_error EIO and leaks nothing', async () => {
    let failing = true;
    const k = boot({
      mapping,
      nsfbufs: 64,
      diskLatencyMs: 5,
      pagerFault: (_obj, pindex) => failing && pindex >= 4,
    });
    const path = await testFile(MiB + 123, 5);
    const file = await k.open(path);
    const lb = await loopback();
    const so = k.socket(lb.client);
    let code = 'none';
    try {
      // No readahead: every chunk has its own read, and the second one fails while the call
      // still runs, so a later chunk finds the socket aborted.
      await k.sendfile(file, so, 0, 0, { flags: SF_USER_READAHEAD });
    } catch (e) {
      code = (e as SysError).code;
    }
    expect(['EIO', 'EPIPE']).toContain(code);
    await settle(k);
    expect(so.so_error).toBe('EIO');
    expect(k.stats().sendfile.sf_rhpages_read).toBe(0);
    k.soclose(so);
    await lb.close();
    // The pages the failed read left invalid are read again by the next send and by read(2).
    failing = false;
    const again = await loopback();
    const so2 = k.socket(again.client);
    expect(await k.sendfile(file, so2, 0, 0)).toBe(MiB + 123);
    const got = await finish(k, again);
    expect(got.sha256).toBe(await sliceHash(path, 0, MiB + 123));
    k.soclose(so2);
    await again.close();
  });
});

describe('sendfile counters', () => {
  it('counts valid pages, I/O requests and readahead, and prints them as netstat -m does', async () => {
    const k = boot({ mapping: 'kva', nsfbufs: 64 });
    const path = await testFile(64 * 4096, 6);
    const file = await k.open(path);
    const lb = await loopback();
    const so = k.socket(lb.client);
    await k.sendfile(file, so, 0, 0, { readahead: 3 });
    await k.sendfile(file, so, 0, 0);
    const got = await finish(k, lb);
    expect(got.bytes).toBe(2 * 64 * 4096);
    const st = k.stats().sendfile;
    expect(st.sf_syscalls).toBe(2);
    expect(st.sf_rhpages_requested).toBe(3);
    expect(st.sf_iocnt).toBeGreaterThanOrEqual(1);
    expect(st.sf_pages_read + st.sf_rhpages_read).toBeGreaterThanOrEqual(64);
    expect(st.sf_pages_valid).toBeGreaterThanOrEqual(64);
    expect(st.sf_noiocnt).toBeGreaterThan(0);
    const text = k.netstatM();
    const lines = text.trimEnd().split('\n');
    expect(lines.at(-12)).toMatch(/^0\/\d+\/64 sfbufs in use \(current\/peak\/max\)$/);
    expect(lines.at(-11)).toBe('2 sendfile syscalls');
    expect(lines.at(-10)).toBe(`${st.sf_noiocnt} sendfile syscalls completed without I/O request`);
    expect(lines.at(-9)).toBe(`${st.sf_iocnt} requests for I/O initiated by sendfile`);
    expect(lines.at(-6)).toBe('0 pages were valid and substituted to bogus page');
    expect(lines.at(-5)).toBe('3 pages were requested for read ahead by applications');
    expect(lines.at(-1)).toBe(`${st.sf_allocwait} requests for sfbufs delayed`);
    expect(text).toMatch(/mbufs in use \(current\/cache\/total\)/);
    const dmap = boot();
    expect(dmap.netstatM()).not.toMatch(/sfbufs in use/);
    k.soclose(so);
    await lb.close();
  });

  it('SF_NOCACHE lets the pages go once sent', async () => {
    const k = boot();
    const path = await testFile(MiB + 123, 6);
    const file = await k.open(path);
    const lb = await loopback();
    const so = k.socket(lb.client);
    const free0 = k.vm.stats.v_free_count;
    await k.sendfile(file, so, 0, 0, { flags: SF_NOCACHE });
    const got = await finish(k, lb);
    expect(got.sha256).toBe(await sliceHash(path, 0, MiB + 123));
    // Only pages kept for the next chunk (a partly sent last page) may stay cached.
    expect(free0 - k.vm.stats.v_free_count).toBeLessThan(16);
    k.soclose(so);
    await lb.close();
  });
});
