// src/sendfile: sendfile(2) and the copy path (sys/kern/kern_sendfile.c, sys/sys/socket.h,
// sys/sys/sf_buf.h). The public header of the room.
export { kernCopyfile, kernRead, kernWrite } from './copy.js';
export { KFile } from './file.js';
export {
  type CopyfileOptions,
  type CopyStat,
  fixspace,
  type SendfileOptions,
  SF_FLAGS,
  SF_FLAGS_ALL,
  SF_MNOWAIT,
  SF_NOCACHE,
  SF_NODISKIO,
  SF_READAHEAD,
  SF_READAHEAD_MAX_PAGES,
  SF_SYNC,
  SF_USER_READAHEAD,
  SFSTAT_KEYS,
  type SfStat,
  sendfileReadahead,
  xfsize,
} from './flags.js';
export { type SendfileConfig, SendfileLayer } from './layer.js';
export { sendfileFreeMext, sendfileFreeMextPg } from './mext.js';
export { sendfileNetstatLines } from './netstat.js';
export { vnSendfile } from './sendfile.js';
export { SENDFILE_MAPPINGS, type SendfileEnv, type SendfileMapping, SendfileSync, SfIo } from './sfio.js';
