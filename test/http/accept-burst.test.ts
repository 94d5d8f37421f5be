// Goal: a burst of connections is accepted whole before any of their requests is served, so a
// client at the back of a crowd that connected at once (a hundred attackers, then it) waits for
// no more than its share of their work, never for one turn per connection ahead of it, each turn
// carrying the downloads the earlier ones started.
// Method: many raw connections opened in one tick, each asking for a small file; when the first
// answer arrives, the server's count of accepted connections is read: all of them (counts only,
// no time).
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Fixture, makeFixture } from './fixture.js';
import { atRestSoon, startServer } from './helpers.js';

const CONNECTIONS = 48;
let fx: Fixture;
beforeAll(() => {
  fx = makeFixture();
});
afterAll(() => fx.cleanup());

describe('a burst of connections', () => {
  it('is accepted whole before any request of it is read', async () => {
    const srv = await startServer({ root: fx.root });
    try {
      let acceptedAtFirstAnswer = -1;
      const answers = Array.from(
        { length: CONNECTIONS },
        () =>
          new Promise<string>((resolve) => {
            const s = connect(srv.port, '127.0.0.1');
            let got = '';
            s.on('error', () => {});
            s.on('data', (d: Buffer) => {
              if (acceptedAtFirstAnswer < 0) acceptedAtFirstAnswer = srv.server.zcsim.connections.accepted;
              got += d.toString('latin1');
            });
            s.on('close', () => resolve(got));
            s.write('GET /zerocopy/hello.txt HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
          }),
      );
      const got = await Promise.all(answers);
      expect(acceptedAtFirstAnswer).toBe(CONNECTIONS);
      for (const g of got) expect(g).toMatch(/^HTTP\/1\.1 200 [\s\S]*hello, zero-copy world\n$/);
      expect(srv.server.zcsim.connections.accepted).toBe(CONNECTIONS);
      expect((await atRestSoon(srv.server)).leaks).toEqual([]);
    } finally {
      await srv.server.close();
    }
  });
});
