// Goal: sendfile(2) in every mapping mode, and the copy path, move a file's bytes intact over a
// real TCP connection, and leave the kernel at rest; sendfile copies nothing, the copy path
// copies each byte exactly twice.
// Method: files of edge sizes (0, 1, 4095, 4096, 4097, 1 MiB + 123) with offsets and byte counts
// are sent over 127.0.0.1 to a receiver that hashes what it gets (SHA-256) and compares it with
// the file slice's hash. The transport is wrapped to record every view handed to the host.
import { afterAll, describe, expect, it } from 'vitest';
import { createKernel, type Kernel, type SendfileMapping } from '../../src/index.js';
import { finish, loopback, recordingTransport, sliceHash, testFile } from './helpers.js';

const MiB = 1024 * 1024;

interface Case {
  readonly size: number;
  readonly offset: number;
  readonly nbytes: number;
}

const CASES: Case[] = [
  { size: 0, offset: 0, nbytes: 0 },
  { size: 1, offset: 0, nbytes: 0 },
  { size: 4095, offset: 0, nbytes: 0 },
  { size: 4096, offset: 0, nbytes: 0 },
  { size: 4097, offset: 0, nbytes: 0 },
  { size: 4097, offset: 4096, nbytes: 0 },
  { size: MiB + 123, offset: 0, nbytes: 0 },
  { size: MiB + 123, offset: 1000, nbytes: 300_000 },
  { size: MiB + 123, offset: 8191, nbytes: 0 },
  { size: MiB + 123, offset: MiB + 500, nbytes: 0 },
  { size: 4096, offset: 100, nbytes: 10_000 },
];

const kernels: Kernel[] = [];
afterAll(async () => {
  for (const k of kernels) await k.destroy();
});

function expectedLength(c: Case): number {
  const rest = Math.max(0, c.size - c.offset);
  return c.nbytes > 0 ? Math.min(c.nbytes, rest) : rest;
}

async function runOne(kernel: Kernel, c: Case, path: 'sendfile' | 'copy'): Promise<void> {
  const file = await kernel.open(await testFile(c.size));
  const lb = await loopback();
  const { transport, record } = recordingTransport(lb.client, kernel.vm.physmem);
  const so = kernel.socket(transport);
  const want = expectedLength(c);
  const sbytes =
    path === 'sendfile'
      ? await kernel.sendfile(file, so, c.offset, c.nbytes)
      : await kernel.copyfile(file, so, c.offset, c.nbytes);
  expect(sbytes).toBe(want);
  const got = await finish(kernel, lb);
  expect(got.bytes).toBe(want);
  expect(got.sha256).toBe(await sliceHash(file.path, c.offset, want));
  if (path === 'sendfile') {
    expect(record.foreignBytes, 'every view handed to the host shares physmem').toBe(0);
  } else {
    expect(record.bytes).toBe(want);
  }
  kernel.soclose(so);
  await kernel.close(file);
  await lb.close();
}

const MODES: SendfileMapping[] = ['dmap', 'kva', 'extpg'];

describe.each(MODES)('sendfile, mapping %s', (mapping) => {
  it.each(CASES)('size $size offset $offset nbytes $nbytes', async (c) => {
    const kernel = createKernel({ mapping, physmemBytes: 16 * MiB, nsfbufs: 64 });
    kernels.push(kernel);
    await runOne(kernel, c, 'sendfile');
    const s = kernel.stats();
    expect(s.copy.copy_bytes_in).toBe(0);
    expect(s.copy.copy_bytes_out).toBe(0);
    expect(s.sendfile.sf_syscalls).toBe(1);
  });
});

describe('the copy path', () => {
  it.each(CASES)('size $size offset $offset nbytes $nbytes', async (c) => {
    const kernel = createKernel({ physmemBytes: 16 * MiB });
    kernels.push(kernel);
    await runOne(kernel, c, 'copy');
    const s = kernel.stats();
    const want = expectedLength(c);
    expect(s.copy.copy_bytes_out).toBe(want);
    expect(s.copy.copy_bytes_in).toBe(want);
    expect(s.sendfile.sf_syscalls).toBe(0);
  });
});
