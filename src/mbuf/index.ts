// src/mbuf: mbufs, clusters, external storage, reference counts and free routines, zones
// (sys/sys/mbuf.h, sys/kern/kern_mbuf.c, sys/kern/uipc_mbuf.c). Imports only src/kern: external
// storage is opaque here (a view, a size, a type, a free routine and two arguments).
export { type MbufConfig, mExtadd, mFree, mFreem, mGet, mGetcl, mGethdr } from './alloc.js';
export { MbufAllocator } from './allocator.js';
export {
  mAdj,
  mAppend,
  mCat,
  mCopyback,
  mCopydata,
  mCopym,
  mLength,
  mTrailingspace,
  mWritable,
} from './chain.js';
export * from './constants.js';
export { mbAllocExtPgs, mbFreeNotready, mExtPgAppend } from './extpg.js';
export { chainHolding, type MbufHolding, NO_HOLDING } from './holding.js';
export {
  Mbuf,
  type MExt,
  type MExtFree,
  type MExtPg,
  MS_FREE,
  MS_LIVE,
  MS_ZOMBIE,
  mEpgBytes,
  mEpgFrameBytes,
  mEpgPagelen,
  mEpgTlsArea,
} from './mbuf.js';
export { type MbufCounters, netstatMbufLines, type ZoneCounters } from './netstat.js';
export { mUiotombuf, type Uio, type UioPageSource, uioCreate, uiomove } from './uio.js';
