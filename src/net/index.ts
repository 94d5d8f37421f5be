// src/net: the send side of sockets (sys/kern/uipc_socket.c, uipc_sockbuf.c, sys/sys/sockbuf.h,
// sys/netinet/tcp_usrreq.c, tcp_output.c) over a host stream. Imports src/mbuf and src/kern only.
export {
  PRUS_EOF,
  PRUS_MORETOCOME,
  PRUS_NOTREADY,
  PRUS_OOB,
  type SoCreateOptions,
  type SocketCounters,
  SocketLayer,
  type SocketLayerConfig,
} from './layer.js';
export {
  MemoryTransport,
  type MemoryTransportOptions,
  type MemoryWrite,
  transportError,
} from './memory-transport.js';
export { transportErrno } from './output.js';
export { sbcheck } from './sbcheck.js';
export {
  EINPROGRESS,
  SB_AUTOSIZE,
  SB_EFFICIENCY,
  SB_MAX_DEFAULT_BYTES,
  SB_NOCOALESCE,
  SB_NOINTR,
  SB_SEL,
  SB_STOP,
  SB_WAIT,
  SBS_CANTRCVMORE,
  SBS_CANTSENDMORE,
  SBS_RCVATMARK,
  SockBuf,
  sballoc,
  sbappendstream,
  sbdrop,
  sbflush,
  sbfree,
  sbMaxAdjBytes,
  sbMbufChargeBytes,
  sbready,
  sbreserve,
  sbspace,
  soreserve,
  TCP_AUTOSNDBUF_INC_BYTES,
  TCP_AUTOSNDBUF_MAX_BYTES,
  TCP_SENDSPACE_BYTES,
} from './sockbuf.js';
export {
  KSocket,
  type SndBatch,
  type SndTag,
  SS_ISCONNECTED,
  SS_ISCONNECTING,
  SS_ISDISCONNECTED,
  SS_ISDISCONNECTING,
  SS_NBIO,
  SS_NOFDREF,
  TcpCb,
  type Transport,
} from './socket.js';
export { mUiotombuf } from './sosend.js';
