// Splits a TLS byte stream into whole records (RFC 8446 §5.1: a 5-byte header, then `length`
// bytes), keeping a partial record until the rest arrives.
import { SysError } from '../kern/index.js';

/** The largest record a peer may send: 2^14 + 256 bytes of ciphertext, plus the header. */
export const TLS_RECORD_MAX_BYTES = 5 + 16384 + 256;

export class RecordSplitter {
  private partial: Buffer = Buffer.alloc(0);

  /** The whole records completed by `chunk`, in order. */
  push(chunk: Uint8Array): Buffer[] {
    let buf =
      this.partial.length === 0
        ? Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length)
        : Buffer.concat([this.partial, chunk]);
    const out: Buffer[] = [];
    while (buf.length >= 5) {
      const len = 5 + buf.readUInt16BE(3);
      if (len > TLS_RECORD_MAX_BYTES) throw new SysError('EINVAL', `tls record of ${len} bytes`);
      if (buf.length < len) break;
      out.push(Buffer.from(buf.subarray(0, len)));
      buf = buf.subarray(len);
    }
    this.partial = Buffer.from(buf);
    return out;
  }

  /** Bytes of a record not yet complete. */
  get pendingBytes(): number {
    return this.partial.length;
  }
}
