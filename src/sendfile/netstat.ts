// Mirrors usr.bin/netstat/mbuf.c (mbpr): the sf_buf line and the sendfile lines of `netstat -m`,
// "numbers separated by '/', one space, label", with the kernel's labels.
import type { SfBufCounters } from '../sfbuf/index.js';
import type { SfStat } from './flags.js';

/** The sfstat lines 13-23 of `netstat -m`, in the kernel's order and words. */
const SFSTAT_LINES: readonly [keyof SfStat, string][] = [
  ['sf_syscalls', 'sendfile syscalls'],
  ['sf_noiocnt', 'sendfile syscalls completed without I/O request'],
  ['sf_iocnt', 'requests for I/O initiated by sendfile'],
  ['sf_pages_read', 'pages read by sendfile as part of a request'],
  ['sf_pages_valid', 'pages were valid at time of a sendfile request'],
  ['sf_pages_bogus', 'pages were valid and substituted to bogus page'],
  ['sf_rhpages_requested', 'pages were requested for read ahead by applications'],
  ['sf_rhpages_read', 'pages were read ahead by sendfile'],
  ['sf_busy', 'times sendfile encountered an already busy page'],
  ['sf_allocfail', 'requests for sfbufs denied'],
  ['sf_allocwait', 'requests for sfbufs delayed'],
];

/**
 * Line 12 (only when the sf_buf map has a pool: the direct map has no kern.ipc.nsfbufs) and lines
 * 13-23 from the sfstat snapshot.
 */
export function sendfileNetstatLines(sfstat: Readonly<SfStat>, sfbufs: SfBufCounters | null): string[] {
  const lines: string[] = [];
  if (sfbufs !== null) {
    lines.push(
      `${sfbufs.nsfbufsused}/${sfbufs.nsfbufspeak}/${sfbufs.nsfbufs} sfbufs in use (current/peak/max)`,
    );
  }
  for (const [key, label] of SFSTAT_LINES) lines.push(`${sfstat[key]} ${label}`);
  return lines;
}
