// Goal: the server process starts with the same V8 flags however it is started: the `zcsim`
// command's first line, `npm start`, and the benchmark's servers (SERVE_NODE_FLAGS). Method: read
// the built command's first line and package.json's start script; run the command's first line
// as the shell would and ask the process which flags it got.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { SERVE_NODE_FLAGS } from '../../src/http/index.js';

const root = fileURLToPath(new URL('../../', import.meta.url));

describe('the server process flags', () => {
  it('are the same in the command, npm start and the benchmark', () => {
    const shebang = readFileSync(`${root}src/cli/main.ts`, 'utf8').split('\n')[0];
    expect(shebang).toBe(`#!/usr/bin/env -S node ${SERVE_NODE_FLAGS.join(' ')}`);
    const pkg = JSON.parse(readFileSync(`${root}package.json`, 'utf8')) as { scripts: { start: string } };
    expect(pkg.scripts.start).toContain(`node ${SERVE_NODE_FLAGS.join(' ')} dist/src/cli/main.js serve`);
  });

  it('reach the process through env -S, as the command line starts it', () => {
    const got = execFileSync(
      'env',
      [
        '-S',
        `node ${SERVE_NODE_FLAGS.join(' ')}`,
        '-e',
        'process.stdout.write(JSON.stringify(process.execArgv))',
      ],
      { encoding: 'utf8' },
    );
    expect((JSON.parse(got) as string[]).slice(0, SERVE_NODE_FLAGS.length)).toEqual(SERVE_NODE_FLAGS);
  });
});
