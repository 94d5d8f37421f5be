// One line of text per kernel event of a journey, in the kernel's own words (the routine that
// ran, the objects it touched), and the key under which repeats of an event fold together.
import { TCP_TLS_MODE_IFNET, TCP_TLS_MODE_SW } from '../../ktls/index.js';
import { formatKva } from '../../sfbuf/index.js';
import type { JourneyEvent } from './recorder.js';

type Fields = Readonly<Record<string, unknown>>;

function kva(v: unknown): string {
  return typeof v === 'number' ? formatKva(v) : '?';
}

function hex(v: unknown): string {
  return typeof v === 'number' ? `0x${(v >>> 0).toString(16)}` : '?';
}

function storage(ext: unknown): string {
  if (ext === null || typeof ext !== 'object') return '';
  return Object.entries(ext as Record<string, number>)
    .map(([k, n]) => `${n} ${k}`)
    .join(', ');
}

interface MbufLine {
  ext: string;
  len: number;
  kva?: number;
  pages: number[];
  notready: boolean;
}

function mbufList(list: unknown): string {
  if (!Array.isArray(list) || list.length === 0) return '';
  const all = list as MbufLine[];
  // A chunk of many pages: the first two and the last say what the rest are.
  const shown = all.length > 4 ? [...all.slice(0, 2), all[all.length - 1]!] : all;
  const parts = shown.map((m) =>
    m.ext === 'EXT_SFBUF'
      ? `EXT_SFBUF kva ${kva(m.kva)} page ${m.pages[0] ?? '?'} ${m.len} B`
      : `M_EXTPG pages ${m.pages.join(',')} ${m.len} B`,
  );
  if (shown.length < all.length) parts.splice(2, 0, `${all.length - 3} more`);
  return `; mbufs: ${parts.join('; ')}${all.some((m) => m.notready) ? ' (M_NOTREADY)' : ''}`;
}

function vmText(event: string, f: Fields): string {
  const where = `obj ${f.object} pindex ${f.pindex}`;
  switch (event) {
    case 'lookup':
      return `vm_page_lookup(${where}) -> ${f.physIndex === null ? 'not resident' : `page ${f.physIndex} ${f.state}`}`;
    case 'wire':
      return `vm_page_wire page ${f.physIndex} (${where}) wire_count ${f.wired}`;
    case 'unwire':
      return `vm_page_unwire page ${f.physIndex} (${where}) wire_count ${f.wired}`;
    case 'pagein':
      return `vnode_pager_getpages obj ${f.object} pindex ${f.pindex}: ${f.pages} pages + ${f.readahead} read-ahead`;
    default:
      return `vm ${event}`;
  }
}

function sfbufText(event: string, f: Fields): string {
  if (event === 'alloc' && f.direct === true)
    return `sf_buf_alloc page ${f.physIndex} -> direct map kva ${kva(f.kva)} (cpu ${f.cpu})`;
  if (event === 'alloc') {
    const tlb = `invlpg ${f.invlpg}, ${f.ipis} IPIs${(f.ipis as number) > 0 ? ' (shootdown)' : ''}`;
    return `sf_buf_alloc page ${f.physIndex} -> kva ${kva(f.kva)} hash ${f.hit ? 'hit' : 'miss'}, refs ${f.refs}, cpu ${f.cpu}, cpumask ${hex(f.cpumask)}, ${tlb}`;
  }
  if (event === 'free' && f.direct === true)
    return `sf_buf_free kva ${kva(f.kva)} page ${f.physIndex} (direct map: nothing to release)`;
  if (event === 'free') return `sf_buf_free kva ${kva(f.kva)} page ${f.physIndex} refs ${f.refs}`;
  if (event === 'map') return `sf_buf_map kva ${kva(f.kva)} -> page ${f.physIndex}`;
  if (event === 'sleep') return `sf_buf_alloc sleeps on "${f.wmesg}" for page ${f.physIndex}`;
  return `sfbuf ${event}`;
}

function netText(event: string, f: Fields): string {
  switch (event) {
    case 'socreate':
      return `socreate so ${f.so} (peer port ${f.peerPort})`;
    case 'sbappend':
      return `sbappend so ${f.so}: ${f.bytes} bytes in ${f.mbufs} mbufs (${storage(f.ext)})${f.notready ? ' M_NOTREADY' : ''}`;
    case 'sbready':
      return `sbready so ${f.so}: ${f.count} mbufs ready`;
    case 'output': {
      const merged = (f.merged as number) > 0 ? `, ${f.merged} merged (contiguous)` : '';
      return `tcp_output so ${f.so}: ${f.bytes} bytes, ${f.mbufs} mbufs as ${f.views} views${merged}${burstsText(f.bursts)}`;
    }
    case 'ack':
      return `write done so ${f.so}: ${f.bytes} bytes`;
    case 'sbdrop':
      return `sbdrop so ${f.so}: ${f.bytes} bytes`;
    case 'sbwait':
      return `sbwait so ${f.so} (space ${f.space})`;
    case 'drop':
      return f.code === null ? `soclose so ${f.so}` : `tcp_drop so ${f.so}: ${f.code}`;
    default:
      return `net ${event}`;
  }
}

function sendfileText(event: string, f: Fields): string {
  switch (event) {
    case 'sendfile':
      return `sendfile(fd ${f.fd}, so ${f.so}, offset ${f.offset}, nbytes ${f.nbytes}) obj ${f.object}, readahead ${f.readahead}`;
    case 'chunk':
      return `chunk at ${f.off}: ${f.bytes} bytes, ${f.pages} pages, ${f.ios} reads${f.notready ? ', not ready' : ''}${mbufList(f.mbufs)}`;
    case 'iodone':
      return `sendfile_iodone so ${f.so}: ${f.pages} pages${f.error ? ` ${f.error}` : ''}`;
    case 'sendfile-done':
      return `sendfile returns sbytes ${f.sbytes}${f.error ? ` ${f.error}` : ''}`;
    case 'free_mext':
      return `sendfile_free_mext kva ${kva(f.kva)} page ${f.physIndex}`;
    case 'free_mext_pg':
      return `sendfile_free_mext_pg pages ${(f.pages as number[]).join(',')}`;
    case 'copyfile':
      return `read+write loop (fd ${f.fd}, so ${f.so}, offset ${f.offset}, nbytes ${f.nbytes}) obj ${f.object}`;
    case 'copyout':
      return `read(2): copy out ${f.bytes} bytes at ${f.offset} (obj ${f.object})`;
    case 'copyin':
      return `write(2): copy in ${f.bytes} bytes (so ${f.so})`;
    default:
      return `sendfile ${event}`;
  }
}

function tlsMode(mode: unknown): string {
  if (mode === TCP_TLS_MODE_SW) return 'TCP_TLS_MODE_SW';
  if (mode === TCP_TLS_MODE_IFNET) return 'TCP_TLS_MODE_IFNET';
  return `mode ${String(mode)}`;
}

function ktlsText(event: string, f: Fields): string {
  switch (event) {
    case 'enable':
      return `setsockopt(TCP_TXTLS_ENABLE) so ${f.so}: session ${f.session}, ${tlsMode(f.mode)}, first record ${f.seq}`;
    case 'enqueue':
      return `ktls_enqueue so ${f.so}: ${f.pages} pages to the worker on cpu ${f.cpu}`;
    case 'encrypted':
      return `ktls_encrypt so ${f.so}: ${f.pages} pages encrypted on cpu ${f.cpu}`;
    default:
      return `ktls ${event}`;
  }
}

/** The event as one line of text. */
export function journeyEventText(e: JourneyEvent): string {
  const f = e.fields;
  switch (e.room) {
    case 'vm':
      return vmText(e.event, f);
    case 'sfbuf':
      return sfbufText(e.event, f);
    case 'net':
      return netText(e.event, f);
    case 'sendfile':
      return sendfileText(e.event, f);
    case 'ktls':
      return ktlsText(e.event, f);
    default:
      return `${e.room} ${e.event}`;
  }
}

/** Events with the same key are "the same step" for folding repeats (page numbers aside). */
export function journeyEventKey(e: JourneyEvent): string {
  const f = e.fields;
  const detail =
    e.event === 'lookup' ? f.state : e.event === 'alloc' ? `${f.hit}/${(f.ipis as number) > 0}` : '';
  return `${e.room}:${e.event}:${String(detail)}`;
}

/** tcp_output's bursts of one batch: "; 2 bursts on the wire: TSO 65160 bytes = 45 segments, 900 bytes". */
function burstsText(bursts: unknown): string {
  if (!Array.isArray(bursts) || bursts.length === 0) return '';
  const parts = bursts.map((b: { bytes: number; tso: boolean; segments: number; cut: boolean }) =>
    b.tso
      ? `TSO ${b.bytes} bytes = ${b.segments} segments${b.cut ? " (cut at the card's segment limit)" : ''}`
      : `${b.bytes} bytes`,
  );
  return `; ${bursts.length === 1 ? '1 burst' : `${bursts.length} bursts`} on the wire: ${parts.join(', ')}`;
}
