// Goal: over REAL loopback TCP, a socket's bytes arrive intact and in order, and a peer reset in
// the middle of a transfer surfaces as EPIPE/ECONNRESET with nothing leaked.
// Method: net.createServer on 127.0.0.1 port 0; the accepted net.Socket is the transport of a
// KSocket. The client hashes what it receives (SHA-256) and compares with the hash of what was
// sent; for the reset, the client stops reading and resets the connection with an RST. Every wait
// is bounded by a timeout.
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import http from 'node:http';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { isSysError, MiB } from '../../src/kern/index.js';
import { waitFor } from '../support/wait.js';
import { makeRig, pattern } from './helpers.js';

interface Pair {
  readonly server: net.Server;
  readonly serverSide: net.Socket;
  readonly client: net.Socket;
}

const open: Pair[] = [];

async function loopbackPair(): Promise<Pair> {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  const accepted = once(server, 'connection') as Promise<[net.Socket]>;
  const client = net.connect(address.port, '127.0.0.1');
  await once(client, 'connect');
  const [serverSide] = await accepted;
  const pair = { server, serverSide, client };
  open.push(pair);
  return pair;
}

afterEach(async () => {
  for (const p of open.splice(0)) {
    p.client.destroy();
    p.serverSide.destroy();
    await new Promise<void>((resolve) => p.server.close(() => resolve()));
  }
});

describe('over real loopback TCP', () => {
  it('sosend of a few MiB arrives intact (SHA-256)', { timeout: 20_000 }, async () => {
    const rig = makeRig({}, { nmbufs: 8192, nmbclusters: 4096 });
    const { serverSide, client } = await loopbackPair();
    const hash = createHash('sha256');
    let receivedBytes = 0;
    client.on('data', (chunk: Buffer) => {
      hash.update(chunk);
      receivedBytes += chunk.length;
    });
    const ended = once(client, 'end');
    const so = rig.net.soCreate(serverSide);
    const payload = pattern(6 * MiB + 123, 11);
    // Two writes, as a copy loop would make them.
    const half = 3 * MiB;
    expect(await rig.net.sosend(so, payload.subarray(0, half))).toBe(half);
    expect(await rig.net.sosend(so, payload.subarray(half))).toBe(payload.length - half);
    await rig.net.sodrain(so, AbortSignal.timeout(10_000));
    expect(rig.net.atRest()).toEqual([]);
    rig.net.soclose(so);
    serverSide.end();
    await Promise.race([ended, sleep(10_000)]);
    expect(receivedBytes).toBe(payload.length);
    expect(hash.digest('hex')).toBe(createHash('sha256').update(payload).digest('hex'));
    const c = rig.net.counters();
    expect(c.copy_bytes_in).toBe(payload.length);
    expect(c.tcps_sndbyte).toBe(payload.length);
    expect(c.sb_dropped_bytes).toBe(payload.length);
    expect(rig.mbufs.atRest()).toEqual([]);
  });

  it('a peer reset mid-transfer gives EPIPE/ECONNRESET and leaks nothing', { timeout: 20_000 }, async () => {
    const rig = makeRig({}, { nmbufs: 8192, nmbclusters: 4096 });
    const { serverSide, client } = await loopbackPair();
    let receivedBytes = 0;
    client.on('data', (chunk: Buffer) => {
      receivedBytes += chunk.length;
      if (receivedBytes >= 256 * 1024) client.pause();
    });
    const so = rig.net.soCreate(serverSide);
    const sending = rig.net.sosend(so, pattern(64 * MiB, 12)).catch((e: unknown) => e);
    // The client stops reading; once the sender is stuck waiting for space, reset the connection.
    await waitFor(
      () => receivedBytes >= 256 * 1024 && so.so_pcb.sbwaitq.length > 0,
      'the peer to stop reading with a sender asleep in sbwait',
    );
    client.resetAndDestroy();
    const err = await Promise.race([sending, sleep(10_000).then(() => 'timeout')]);
    expect(isSysError(err) && ['EPIPE', 'ECONNRESET'].includes(err.code)).toBe(true);
    expect(isSysError(err) && err.sbytes).toBeGreaterThan(0);
    expect(['EPIPE', 'ECONNRESET']).toContain(so.so_error);
    await waitFor(() => rig.mbufs.atRest().length === 0, 'every mbuf freed');
    expect(rig.net.atRest()).toEqual([]);
    rig.net.soclose(so);
    expect(rig.net.counters().so_open).toBe(0);
    expect(Object.values(rig.net.counters().aborts).reduce((a, b) => a + (b ?? 0), 0)).toBe(1);
  });

  it('an http.ServerResponse is a transport too: chunked body intact', { timeout: 20_000 }, async () => {
    const rig = makeRig();
    const payload = pattern(1 * MiB + 5, 13);
    const server = http.createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      const so = rig.net.soCreate(res);
      void (async () => {
        await rig.net.sosend(so, payload);
        await rig.net.sodrain(so, AbortSignal.timeout(10_000));
        rig.net.soclose(so);
        res.end();
      })();
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('no port');
    try {
      const response = await fetch(`http://127.0.0.1:${address.port}/`, {
        signal: AbortSignal.timeout(10_000),
      });
      const body = new Uint8Array(await response.arrayBuffer());
      expect(body.length).toBe(payload.length);
      expect(createHash('sha256').update(body).digest('hex')).toBe(
        createHash('sha256').update(payload).digest('hex'),
      );
      await waitFor(() => rig.mbufs.atRest().length === 0, 'every mbuf freed');
      expect(rig.net.atRest()).toEqual([]);
      expect(rig.net.counters().aborts).toEqual({});
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
