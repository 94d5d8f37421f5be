// The takeover of a Node TLS connection by kernel TLS, as OpenSSL's ktls glue does after its
// handshake on FreeBSD: Node's TLSSocket does the handshake over the record tap; once it is secure
// and the server's application traffic secret is known (keylog and 'secure' come in either
// order), the key and IV are derived (RFC 8446 §7.3) and handed to the connection's kernel socket
// with setsockopt(TCP_TXTLS_ENABLE), starting at the next sequence number. Requests still arrive
// through the TLSSocket (the receive side stays in user space).
import type { Socket } from 'node:net';
import tls from 'node:tls';
import { SysError } from '../kern/index.js';
import type { Kernel } from '../kernel/index.js';
import {
  type KtlsMode,
  type KtlsRexmit,
  type KtlsSession,
  TCP_TLS_MODE_SW,
  TLS_MAJOR_VER_ONE,
  TLS_MINOR_VER_THREE,
  tls13Suite,
} from '../ktls/index.js';
import type { KSocket } from '../net/index.js';
import { KtlsRecordTap } from './tap.js';

export interface KtlsAcceptOptions {
  /** The server's certificate and key; TLS 1.3 is required whatever it says. */
  readonly secureContext: tls.SecureContext;
  /** TCP_TLS_MODE_SW (default) or TCP_TLS_MODE_IFNET. */
  readonly mode?: KtlsMode;
  /** ALPN protocols offered (default http/1.1). */
  readonly ALPNProtocols?: string[];
  /** A simulated lost segment (tests; see src/ktls/nic.ts). */
  readonly rexmit?: KtlsRexmit;
}

const KEYLOG_SERVER_SECRET = 'SERVER_TRAFFIC_SECRET_0 ';

/** One accepted TLS connection: its TLSSocket (read requests here) and the tap under it. */
export class KtlsConnection {
  readonly tap: KtlsRecordTap;
  readonly tlsSocket: tls.TLSSocket;
  #secret: Buffer | null = null;
  private secured = false;
  /** The pending takeover's check, run when the secret or the handshake arrives. */
  private waiter: (() => void) | null = null;
  private session: Promise<KtlsSession> | null = null;

  constructor(
    private readonly kernel: Kernel,
    readonly so: KSocket,
    raw: Socket,
    private readonly opts: KtlsAcceptOptions,
  ) {
    this.tap = new KtlsRecordTap(kernel, so, raw);
    // A server TLSSocket reports keylog lines only when its server listens for them.
    const keylogServer = tls.createServer({});
    keylogServer.on('keylog', () => {});
    this.tlsSocket = new tls.TLSSocket(this.tap, {
      isServer: true,
      secureContext: opts.secureContext,
      ALPNProtocols: opts.ALPNProtocols ?? ['http/1.1'],
      server: keylogServer,
    });
    this.tlsSocket.on('keylog', (line: Buffer) => this.onKeylog(line));
    this.tlsSocket.once('secure', () => {
      this.secured = true;
      this.armTap();
    });
  }

  /**
   * Resolves once the kernel owns the send side, with its session; rejects (EINVAL) if the
   * connection is not TLS 1.3 with one of the three AEAD suites, or closes first (ECONNRESET).
   */
  takeover(): Promise<KtlsSession> {
    this.session ??= new Promise<KtlsSession>((resolve, reject) => {
      const ts = this.tlsSocket;
      const closed = (): void => {
        this.waiter = null;
        reject(new SysError('ECONNRESET', 'ktls takeover: the connection closed first'));
      };
      const check = (): void => {
        if (!this.secured || this.#secret === null) return;
        this.waiter = null;
        ts.removeListener('close', closed);
        try {
          resolve(this.enable());
        } catch (e) {
          reject(e);
        }
      };
      if (ts.destroyed) {
        closed();
        return;
      }
      this.waiter = check;
      ts.once('close', closed);
      check();
    });
    return this.session;
  }

  private onKeylog(line: Buffer): void {
    const text = line.toString('latin1');
    // A capture of this connection carries every key line, so that Wireshark can decrypt it.
    this.kernel.sockets.pcapKeylog(this.so, text);
    if (!text.startsWith(KEYLOG_SERVER_SECRET)) return;
    const hex = text.trim().split(' ')[2];
    if (hex === undefined) return;
    this.#secret = Buffer.from(hex, 'hex');
    this.armTap();
  }

  /**
   * With the handshake done and the secret known, the tap learns the application key: it counts
   * OpenSSL's records from then on (also on a connection the kernel never takes over).
   */
  private armTap(): void {
    if (!this.secured || this.#secret === null) return;
    const suite = tls13Suite(this.tlsSocket.getCipher().standardName);
    if (suite !== undefined && this.tlsSocket.getProtocol() === 'TLSv1.3')
      this.tap.setAppSecret(suite, this.#secret);
    this.waiter?.();
  }

  /** The secret and the handshake are both in: derive, count, hand over, setsockopt. */
  private enable(): KtlsSession {
    const ts = this.tlsSocket;
    if (ts.getProtocol() !== 'TLSv1.3')
      throw new SysError('EINVAL', `ktls takeover: ${ts.getProtocol()} is not TLS 1.3`);
    const suite = tls13Suite(ts.getCipher().standardName);
    if (suite === undefined) throw new SysError('EINVAL', 'ktls takeover: cipher suite not supported');
    this.tap.setAppSecret(suite, this.#secret!);
    // The key OpenSSL sends under now: the first one, or the next after a KeyUpdate it sent.
    const { key, iv } = this.tap.handOver();
    const session = this.kernel.ktlsEnableTx(
      this.so,
      {
        cipher_algorithm: suite.cipher_algorithm,
        cipher_key: key,
        iv,
        tls_vmajor: TLS_MAJOR_VER_ONE,
        tls_vminor: TLS_MINOR_VER_THREE,
        rec_seq: this.tap.nextSeq,
      },
      { mode: this.opts.mode ?? TCP_TLS_MODE_SW, ...(this.opts.rexmit ? { rexmit: this.opts.rexmit } : {}) },
    );
    key.fill(0);
    iv.fill(0);
    return session;
  }
}

/**
 * The API a server calls per accepted TCP connection `raw` whose kernel socket is `so`: Node
 * does the TLS handshake over the record tap; `takeover()` then gives the send side to KTLS.
 */
export function ktlsAccept(
  kernel: Kernel,
  so: KSocket,
  raw: Socket,
  opts: KtlsAcceptOptions,
): KtlsConnection {
  return new KtlsConnection(kernel, so, raw, opts);
}
