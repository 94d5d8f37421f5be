// Goal: `zcsim serve --send-timeout SECONDS` reaches the server as sendTimeoutMs (nginx's
// send_timeout, 60 s by default), and a bad value is a UsageError naming the option.
import { describe, expect, it } from 'vitest';
import { parseServeArgs } from '../../src/cli/serve.js';

describe('serve --send-timeout', () => {
  it('defaults to 60 s and takes seconds', () => {
    const d = parseServeArgs([], {});
    const k = parseServeArgs(['--send-timeout', '5'], {});
    expect(d !== 'help' && d.sendTimeoutMs).toBe(60_000);
    expect(k !== 'help' && k.sendTimeoutMs).toBe(5000);
  });

  it('refuses what is not a whole number of seconds', () => {
    expect(() => parseServeArgs(['--send-timeout', 'soon'], {})).toThrow(/send-timeout/);
    expect(() => parseServeArgs(['--send-timeout', '0'], {})).toThrow(/send-timeout/);
  });
});
