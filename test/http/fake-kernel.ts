// A stand-in kernel port for HTTP tests that do not need the simulator: sendfile and copyfile
// write the headers and the file's bytes straight to the transport, and drain() waits for the
// write callbacks. It keeps the port's contract (sbytes, short files, close, atRest).

import type { FileHandle } from 'node:fs/promises';
import { open as fsOpen } from 'node:fs/promises';
import type {
  HttpKernelPort,
  KernelFileRef,
  KernelSession,
  ResponseTransport,
} from '../../src/http/index.js';

interface FakeFile {
  fh: FileHandle;
}

export function fakeKernelPort(): HttpKernelPort & { opened: number; sessions: number } {
  let opened = 0;
  let sessions = 0;
  const port = {
    config: { fake: true },
    get opened() {
      return opened;
    },
    get sessions() {
      return sessions;
    },
    async open(path: string): Promise<KernelFileRef> {
      opened++;
      return { fh: await fsOpen(path, 'r') } satisfies FakeFile;
    },
    async close(file: KernelFileRef): Promise<void> {
      opened--;
      await (file as FakeFile).fh.close();
    },
    async fstat(file: KernelFileRef) {
      const st = await (file as FakeFile).fh.stat();
      return { sizeBytes: st.size, mtimeMs: st.mtimeMs, ino: st.ino };
    },
    session(file: KernelFileRef, transport: ResponseTransport, signal: AbortSignal): KernelSession {
      sessions++;
      let pending = 0;
      let closed = false;
      let wake: (() => void) | null = null;
      const put = (buf: Uint8Array): void => {
        pending++;
        transport.write(buf, () => {
          pending--;
          if (pending === 0) wake?.();
        });
      };
      const send = async (
        offset: number,
        nbytes: number,
        h: Uint8Array | null,
        t: Uint8Array | null,
      ): Promise<number> => {
        if (signal.aborted) throw Object.assign(new Error('aborted'), { code: 'EINTR' });
        const buf = Buffer.alloc(nbytes);
        const { bytesRead } = await (file as FakeFile).fh.read(buf, 0, nbytes, offset);
        if (h) put(h);
        put(buf.subarray(0, bytesRead));
        if (t && bytesRead === nbytes) put(t);
        return (h?.length ?? 0) + bytesRead + (bytesRead === nbytes ? (t?.length ?? 0) : 0);
      };
      return {
        sendfile: send,
        copyfile: send,
        drain: () =>
          pending === 0 || closed
            ? Promise.resolve()
            : new Promise<void>((resolve) => {
                wake = resolve;
              }),
        close: () => {
          if (closed) return;
          closed = true;
          sessions--;
        },
      };
    },
    stats: () => ({ fake: { sessions } }),
    netstatM: () => 'fake kernel\n',
    atRest: () => {
      const leaks = sessions > 0 ? [`${sessions} sessions open`] : [];
      return { atRest: leaks.length === 0, leaks };
    },
    destroy: async () => {},
  };
  return port;
}
