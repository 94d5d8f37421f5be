// Goal: the errno catalogue is pinned: every errno zcsim can give has a meaning and the host's
// number, and a SysError keeps its code, number and partial byte count.
import { constants } from 'node:os';
import { describe, expect, it } from 'vitest';
import { ERRNO_MEANING, type Errno, errnoFromNode, SysError } from '../../src/kern/index.js';

const CATALOGUE: readonly Errno[] = [
  'EAGAIN',
  'EBUSY',
  'EINTR',
  'EIO',
  'EINVAL',
  'EBADF',
  'ENOBUFS',
  'ENOTCONN',
  'EPIPE',
  'ECONNRESET',
  'ENOMEM',
  'ENOENT',
  'EACCES',
  'EISDIR',
  'ENOTSOCK',
];

describe('the errno catalogue', () => {
  it('lists exactly the errnos zcsim gives, each with a meaning', () => {
    expect(Object.keys(ERRNO_MEANING).sort()).toEqual([...CATALOGUE].sort());
    for (const code of CATALOGUE) expect(ERRNO_MEANING[code].length).toBeGreaterThan(10);
  });

  it.each(CATALOGUE)('SysError(%s) carries the host errno number and sbytes', (code) => {
    const e = new SysError(code, 'test', 7);
    expect(e.errno).toBe(constants.errno[code]);
    expect(e.code).toBe(code);
    expect(e.message).toBe(`${code}: test`);
    expect(e.withSbytes(9).sbytes).toBe(9);
    expect(e.withSbytes(9).message).toBe(e.message);
  });

  it('maps Node errors into the catalogue, unknown ones to EIO', () => {
    expect(errnoFromNode({ code: 'EPIPE' })).toBe('EPIPE');
    expect(errnoFromNode({ code: 'ERR_STREAM_DESTROYED' })).toBe('EPIPE');
    expect(errnoFromNode({ code: 'EWHATEVER' })).toBe('EIO');
    expect(errnoFromNode(null)).toBe('EIO');
  });
});
