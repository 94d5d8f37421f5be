// The receiving end of the raw TCP benchmark, in its own process: accepts connections on
// 127.0.0.1, drains and counts every byte, and when the sender half-closes, answers with the
// count ("<bytes>\n") so the sender can stop its clock and check nothing was lost.
import net from 'node:net';
import { serveIpc } from '../../src/load/index.js';

const server = net.createServer({ noDelay: true }, (socket) => {
  let receivedBytes = 0;
  socket.on('data', (chunk: Buffer) => {
    receivedBytes += chunk.length;
  });
  socket.on('end', () => {
    socket.end(`${receivedBytes}\n`);
  });
  socket.on('error', () => socket.destroy());
});

serveIpc(
  {
    listen: () =>
      new Promise<number>((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, '127.0.0.1', () => {
          const address = server.address();
          resolve(typeof address === 'object' && address ? address.port : -1);
        });
      }),
    cpu: () => ({ cpu: process.cpuUsage(), rssBytes: process.memoryUsage.rss() }),
  },
  () => new Promise<void>((resolve) => server.close(() => resolve())),
);
