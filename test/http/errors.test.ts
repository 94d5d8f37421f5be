// Goal: one catalogue says what every error means (code, message, HTTP status, base class), in
// the shape of fastify's lib/errors.js, and every route decision goes through it.
// Method: pin the catalogue's size and a few entries; check each demo error class carries its
// catalogue code and each kernel errno maps to a status.
import { describe, expect, it } from 'vitest';
import {
  ERRORS,
  FileChangedError,
  httpStatusOf,
  isClientGone,
  PathError,
  PoolExhaustedError,
  StaleEntryError,
} from '../../src/http/errors.js';
import { ERRNO_MEANING, SysError } from '../../src/kern/index.js';

describe('the error catalogue', () => {
  it('has one entry per code, each with a message, a status and a base class', () => {
    expect(Object.keys(ERRORS).length).toBe(27);
    for (const [code, e] of Object.entries(ERRORS)) {
      expect(e.code).toBe(code);
      expect(e.message.length).toBeGreaterThan(0);
      expect(e.status).toBeGreaterThanOrEqual(400);
      expect(e.status).toBeLessThan(600);
      expect(typeof e.base).toBe('function');
    }
    for (const errno of Object.keys(ERRNO_MEANING)) expect(ERRORS[errno]?.base, errno).toBe(SysError);
  });

  it('the demo errors carry their codes and statuses', () => {
    const cases = [
      [new StaleEntryError('x'), 'ESTALE', 500],
      [new FileChangedError('x'), 'ZCSIM_FILE_CHANGED', 500],
      [new PoolExhaustedError('x'), 'ZCSIM_POOL_EXHAUSTED', 503],
    ] as const;
    for (const [err, code, status] of cases) {
      expect(err.code).toBe(code);
      expect(err).toBeInstanceOf(ERRORS[code]!.base);
      expect(httpStatusOf(err)).toBe(status);
    }
    expect(httpStatusOf(new PathError(404, 'dotfile'))).toBe(404);
    expect(httpStatusOf(new SysError('ENAMETOOLONG' as never, 'x'))).toBe(414);
  });

  it('says which errors mean the client went away', () => {
    expect(isClientGone(new SysError('EPIPE', 'x'))).toBe(true);
    expect(isClientGone({ code: 'ABORT_ERR' })).toBe(true);
    expect(isClientGone(new SysError('EIO', 'x'))).toBe(false);
    expect(isClientGone(new Error('x'))).toBe(false);
  });
});
