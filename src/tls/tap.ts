// The record tap: a Duplex between a server TLSSocket (Node's OpenSSL) and the connection's real
// net.Socket. Bytes from the peer go up to OpenSSL untouched. What OpenSSL writes goes down through
// the connection's kernel socket with write(2), as user-space TLS does; the tap counts the records
// sent under the application key, so that the kernel can take over the send side at exactly the
// next sequence number (TLS 1.3 NewSessionTickets may already have gone out). After the takeover
// OpenSSL must not put records on the wire: what it still writes is opened with its own key and
// handed to the kernel as plaintext of the same record type (tickets, close_notify and other
// alerts, application data). A KeyUpdate OpenSSL sends before the takeover (a client asked for
// one) is followed: the tap moves to the next secret, and the kernel later gets that key. After
// the takeover a KeyUpdate ends the connection, as ktls(4) has no rekeying.
import type { Socket } from 'node:net';
import { Duplex } from 'node:stream';
import { SysError } from '../kern/index.js';
import type { Kernel } from '../kernel/index.js';
import {
  AES_GMAC_HASH_LEN,
  TLS_HEADER_BYTES,
  TLS_RLTYPE_ALERT,
  TLS_RLTYPE_APP,
  TLS_RLTYPE_HANDSHAKE,
  type Tls13Suite,
} from '../ktls/index.js';
import type { KSocket } from '../net/index.js';
import { tls13NextSecret, tls13TrafficKeys } from './hkdf.js';
import { tls13Open, tls13PeekType } from './open.js';
import { RecordSplitter } from './records.js';

/** TLS 1.3 handshake message types the tap meets after the handshake (RFC 8446 §4). */
const HS_NEW_SESSION_TICKET = 4;
const HS_KEY_UPDATE = 24;

/** What the tap saw and did (no key material). */
export interface TapCounters {
  /** Records OpenSSL wrote before the takeover, and those under the application key. */
  records_user: number;
  app_key_records_user: number;
  /** NewSessionTickets among them. */
  tickets_user: number;
  /** Plaintext bytes OpenSSL encrypted into application data records (user-space TLS). */
  user_encrypt_bytes: number;
  /** After the takeover: records of OpenSSL's re-sent by the kernel, by kind. */
  rewritten_tickets: number;
  rewritten_alerts: number;
  routed_app_bytes: number;
  /** KeyUpdates refused (the connection was closed). */
  keyupdate_refused: number;
  /** KeyUpdates OpenSSL sent before the takeover, after which the tap follows the next key. */
  keyupdates_followed: number;
}

/** The key OpenSSL sends under now: its traffic secret and what derives from it. */
interface AppKey {
  readonly suite: Tls13Suite;
  readonly secret: Buffer;
  readonly key: Buffer;
  readonly iv: Buffer;
}

function appKeyOf(suite: Tls13Suite, secret: Buffer): AppKey {
  return { suite, secret, ...tls13TrafficKeys(suite, secret) };
}

export class KtlsRecordTap extends Duplex {
  readonly counters: TapCounters = {
    records_user: 0,
    app_key_records_user: 0,
    tickets_user: 0,
    user_encrypt_bytes: 0,
    rewritten_tickets: 0,
    rewritten_alerts: 0,
    routed_app_bytes: 0,
    keyupdate_refused: 0,
    keyupdates_followed: 0,
  };
  private readonly splitter = new RecordSplitter();
  /** Encrypted records seen before the application key was known, to be classified. */
  private unclassified: Buffer[] = [];
  #appKey: AppKey | null = null;
  /** OpenSSL's next send sequence number under the application key. */
  private opensslSeq = 0;
  /** A record under the current key authenticated: the next ones need only their type read. */
  private keyConfirmed = false;
  private taken = false;

  constructor(
    private readonly kernel: Kernel,
    readonly so: KSocket,
    private readonly raw: Socket,
  ) {
    super({ allowHalfOpen: true });
    raw.on('data', (d: Buffer) => {
      if (!this.push(d)) raw.pause();
    });
    raw.on('end', () => this.push(null));
    // The kernel socket learns of a reset through its own listener; up here the stream just ends.
    raw.on('error', () => this.destroy());
    raw.on('close', () => this.destroy());
  }

  /** Whether the kernel owns the send side. */
  get takenOver(): boolean {
    return this.taken;
  }

  /** The sequence number the kernel starts at: application-key records OpenSSL has sent. */
  get nextSeq(): number {
    return this.opensslSeq;
  }

  /** The server's application traffic secret (keylog's SERVER_TRAFFIC_SECRET_0). */
  setAppSecret(suite: Tls13Suite, secret: Buffer): void {
    if (this.#appKey !== null) return;
    this.#appKey = appKeyOf(suite, secret);
    const pending = this.unclassified;
    this.unclassified = [];
    for (const r of pending) this.classify(r);
  }

  /**
   * Marks the send side as the kernel's: from now on OpenSSL's records are rewritten. Returns the
   * key and IV OpenSSL sends under now (copies: the caller hands them to the kernel, then clears
   * them), with `nextSeq` the sequence number to start at.
   */
  handOver(): { suite: Tls13Suite; key: Buffer; iv: Buffer } {
    const k = this.#appKey;
    if (k === null) throw new SysError('EINVAL', 'record tap: no application key yet');
    this.taken = true;
    return { suite: k.suite, key: Buffer.from(k.key), iv: Buffer.from(k.iv) };
  }

  override _read(): void {
    this.raw.resume();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    let records: Buffer[];
    try {
      records = this.splitter.push(chunk);
    } catch (e) {
      cb(e as Error);
      return;
    }
    this.writeRecords(records).then(
      () => cb(),
      (e: unknown) => cb(e instanceof Error ? e : new Error(String(e))),
    );
  }

  override _final(cb: (err?: Error | null) => void): void {
    // Everything queued (records still being encrypted included) goes out before the FIN.
    this.kernel.sodrain(this.so).then(
      () => {
        this.raw.end();
        cb();
      },
      () => cb(),
    );
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    if (!this.raw.destroyed) this.raw.destroy(err ?? undefined);
    cb(err);
  }

  private async writeRecords(records: Buffer[]): Promise<void> {
    for (const r of records) {
      if (this.taken) {
        await this.rewrite(r);
        continue;
      }
      this.counters.records_user++;
      if (r[0] === TLS_RLTYPE_APP) {
        if (this.#appKey === null) this.unclassified.push(r);
        else this.classify(r);
      }
      await this.kernel.write(this.so, r);
    }
  }

  /**
   * A record OpenSSL sent itself: under the application key (counted) or the handshake key. The
   * first record under a key is opened to tell the two apart; after it only the inner type is
   * read, and handshake and alert records are opened (tickets, a KeyUpdate to follow).
   */
  private classify(r: Buffer): void {
    const k = this.#appKey!;
    const type = this.keyConfirmed ? tls13PeekType(k.suite.nodeCipher, k.key, k.iv, this.opensslSeq, r) : 0;
    if (type === TLS_RLTYPE_APP) {
      this.opensslSeq++;
      this.counters.app_key_records_user++;
      this.counters.user_encrypt_bytes += r.length - TLS_HEADER_BYTES - AES_GMAC_HASH_LEN - 1;
      return;
    }
    const opened = tls13Open(k.suite.nodeCipher, k.key, k.iv, this.opensslSeq, r);
    if (opened === null) {
      if (this.counters.app_key_records_user > 0)
        this.destroy(new SysError('EIO', 'record tap: record under an unknown key'));
      return;
    }
    this.keyConfirmed = true;
    this.opensslSeq++;
    this.counters.app_key_records_user++;
    if (opened.type === TLS_RLTYPE_APP) this.counters.user_encrypt_bytes += opened.plaintext.length;
    if (opened.type !== TLS_RLTYPE_HANDSHAKE) return;
    if (opened.plaintext[0] === HS_NEW_SESSION_TICKET) this.counters.tickets_user++;
    if (hasKeyUpdate(opened.plaintext)) {
      // RFC 8446 §4.6.3: the records after it are under the next secret, from sequence 0.
      this.#appKey = appKeyOf(k.suite, tls13NextSecret(k.suite, k.secret));
      this.opensslSeq = 0;
      this.counters.keyupdates_followed++;
    }
  }

  /** After the takeover: OpenSSL's record is opened and its content sent by the kernel. */
  private async rewrite(r: Buffer): Promise<void> {
    const k = this.#appKey!;
    const opened =
      r[0] === TLS_RLTYPE_APP ? tls13Open(k.suite.nodeCipher, k.key, k.iv, this.opensslSeq, r) : null;
    if (opened === null)
      throw new SysError('EIO', 'record tap: OpenSSL wrote a record the kernel cannot follow');
    this.opensslSeq++;
    if (opened.type === TLS_RLTYPE_APP) {
      this.counters.routed_app_bytes += opened.plaintext.length;
      if (opened.plaintext.length > 0) await this.kernel.write(this.so, opened.plaintext);
      return;
    }
    if (opened.type === TLS_RLTYPE_HANDSHAKE) {
      if (!onlyTickets(opened.plaintext)) {
        // ktls(4): the kernel cannot change keys; the connection cannot go on.
        this.counters.keyupdate_refused++;
        throw new SysError('EINVAL', 'record tap: KeyUpdate on a KTLS connection (no rekeying)');
      }
      this.counters.rewritten_tickets++;
      await this.kernel.sendRecord(this.so, opened.plaintext, TLS_RLTYPE_HANDSHAKE);
      return;
    }
    if (opened.type === TLS_RLTYPE_ALERT) {
      this.counters.rewritten_alerts++;
      await this.kernel.sendRecord(this.so, opened.plaintext, TLS_RLTYPE_ALERT);
      return;
    }
    throw new SysError('EINVAL', `record tap: record type ${opened.type} after the takeover`);
  }
}

/** Whether a run of handshake messages holds a KeyUpdate. */
function hasKeyUpdate(msgs: Buffer): boolean {
  for (let off = 0; off + 4 <= msgs.length; off += 4 + msgs.readUIntBE(off + 1, 3)) {
    if (msgs[off] === HS_KEY_UPDATE) return true;
  }
  return false;
}

/** Whether a run of handshake messages is only NewSessionTickets (what the kernel may re-send). */
function onlyTickets(msgs: Buffer): boolean {
  for (let off = 0; off + 4 <= msgs.length; off += 4 + msgs.readUIntBE(off + 1, 3)) {
    if (msgs[off] !== HS_NEW_SESSION_TICKET) return false;
  }
  return true;
}
