// src/tls: user space's side of kernel TLS (what OpenSSL's ktls glue does on FreeBSD): Node's
// TLSSocket handshakes over a record tap, then the connection's kernel socket takes over the
// send side. Imports the kernel's public API.
export { type KtlsAcceptOptions, KtlsConnection, ktlsAccept } from './accept.js';
export { type CertPair, selfSignedCert, tlsCertDir } from './cert.js';
export { hkdfExpand, hkdfExpandLabel, tls13NextSecret, tls13TrafficKeys } from './hkdf.js';
export { type Tls13Opened, tls13Open, tls13PeekType } from './open.js';
export { RecordSplitter, TLS_RECORD_MAX_BYTES } from './records.js';
export { KtlsRecordTap, type TapCounters } from './tap.js';
