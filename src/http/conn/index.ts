// src/http/conn: the HTTP/1.1 engine over the kernel socket. A connection owns one kernel socket
// for its life, parses requests as they come (request-parser), answers them in order at the head
// of its queue, builds heads (heads), admits bodies to the kernel's pools (pool-gate) and has the
// bodies under way take turns while new responses wait (body-turns). Its one
// context (connections) holds what a server's connections share, the kernel among it: a request
// crosses into the kernel only through its connection. It knows no files: a response is handed
// to the responder the server composes.

export { BODY_YIELD_MS, BodyTurns, type TurnTaker, YIELD_BATCH_BYTES } from './body-turns.js';
export {
  type ConnContext,
  Connection,
  type ConnectionCounters,
  type Hdtr,
  LINGER_READ_MAX_BYTES,
  PIPELINE_MAX,
  type TlsPass,
} from './connection.js';
export { Connections, ownConnectionsServer, type Responder } from './connections.js';
export { Deadline } from './deadline.js';
export { Heads, KEEP_ALIVE_TIMEOUT_MS } from './heads.js';
export { loopbackOf } from './loopback.js';
export {
  connectionShareBytes,
  POOL_PRESSURE_SEND_TIMEOUT_MS,
  POOL_WAIT_MS,
  PoolGate,
  type PoolName,
} from './pool-gate.js';
export {
  type BodyLimit,
  EMPTY_LINES_MAX,
  type HttpRequest,
  MAX_HEAD_BYTES,
  type ParseStep,
  RequestParser,
} from './request-parser.js';
export { TLS13_CIPHERSUITES } from './tls.js';
