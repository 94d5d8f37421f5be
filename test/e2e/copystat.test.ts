// Goal: `copy_bytes_in` is one counter with one meaning (bytes sosend copied into clusters), so
// the copy section and the socket section of the kernel's stats always agree.
// Method: write(2) through the kernel, and sosend called straight on the socket layer, over a
// real loopback connection; both sections are read after each.
import { describe, expect, it } from 'vitest';
import { finish, kernelBooter, loopback } from './helpers.js';

const boot = kernelBooter();

describe('copy_bytes_in', () => {
  it('is the same number in kernel.copy and kernel.sockets, however the bytes were written', async () => {
    const kernel = boot();
    const lb = await loopback();
    const so = kernel.socket(lb.client);
    await kernel.write(so, new Uint8Array(3000).fill(7));
    expect(kernel.stats().copy.copy_bytes_in).toBe(3000);
    await kernel.sockets.sosend(so, new Uint8Array(1000).fill(9));
    const s = kernel.stats();
    expect(s.sockets.copy_bytes_in).toBe(4000);
    expect(s.copy.copy_bytes_in).toBe(s.sockets.copy_bytes_in);
    const got = await finish(kernel, lb);
    expect(got.bytes).toBe(4000);
    kernel.soclose(so);
    await lb.close();
  });
});
