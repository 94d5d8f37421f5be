// multipart/byteranges bodies (RFC 9110 section 14.6), laid out as nginx's
// ngx_http_range_multipart_header builds them: each part is "CRLF--boundary CRLF
// Content-Type CRLF Content-Range CRLF CRLF" then the bytes, and the body ends with
// "CRLF--boundary--CRLF". The length is known before the first byte is sent.
import type { ByteRange } from './semantics.js';

export interface MultipartLayout {
  readonly contentType: string;
  /** Part headers, one per range, as latin1 bytes (sendfile's headers for that part). */
  readonly partHeaders: readonly Buffer[];
  /** The closing delimiter (the last part's trailer). */
  readonly closing: Buffer;
  /** Total body length in bytes. */
  readonly lengthBytes: number;
}

/** Lays out the parts of a multipart/byteranges body for `ranges` of a file. */
export function multipartLayout(
  boundary: string,
  partType: string,
  sizeBytes: number,
  ranges: readonly ByteRange[],
): MultipartLayout {
  const partHeaders = ranges.map((r) =>
    Buffer.from(
      `\r\n--${boundary}\r\nContent-Type: ${partType}\r\nContent-Range: bytes ${r.start}-${r.end}/${sizeBytes}\r\n\r\n`,
      'latin1',
    ),
  );
  const closing = Buffer.from(`\r\n--${boundary}--\r\n`, 'latin1');
  let lengthBytes = closing.length;
  for (let i = 0; i < ranges.length; i++) {
    const r = ranges[i]!;
    lengthBytes += partHeaders[i]!.length + (r.end - r.start + 1);
  }
  return { contentType: `multipart/byteranges; boundary=${boundary}`, partHeaders, closing, lengthBytes };
}
