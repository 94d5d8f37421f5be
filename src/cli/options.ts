// Option tables of the zcsim subcommands: one table per subcommand gives node:util parseArgs its
// config and --help its text (every option with its default), so the two never disagree.
import { parseArgs } from 'node:util';

export interface OptionSpec {
  readonly type: 'string' | 'boolean';
  readonly short?: string;
  /** Shown in --help; for strings also the value used when the option is absent. */
  readonly default?: string;
  readonly value?: string;
  readonly help: string;
}

export type OptionTable = Readonly<Record<string, OptionSpec>>;

/** A command-line mistake: main prints the message and exits 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export interface Parsed {
  readonly values: Readonly<Record<string, string | boolean | undefined>>;
  readonly positionals: readonly string[];
}

/** parseArgs with the table; unknown options, missing values and extra arguments are UsageErrors. */
export function parseWith(table: OptionTable, args: readonly string[], maxPositionals: number): Parsed {
  const options: Record<string, { type: 'string' | 'boolean'; short?: string }> = {};
  for (const [name, spec] of Object.entries(table)) {
    options[name] = spec.short ? { type: spec.type, short: spec.short } : { type: spec.type };
  }
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: joinDashValues(table, args), options, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError(parseArgsMessage(table, err as Error & { code?: string }));
  }
  if (parsed.positionals.length > maxPositionals) {
    throw new UsageError(`unexpected argument '${parsed.positionals[maxPositionals]}'`);
  }
  return { values: parsed.values as Parsed['values'], positionals: parsed.positionals };
}

/**
 * `--port -1`: a string option followed by what looks like a negative number takes it as its
 * value (parseArgs calls it ambiguous), so that the option's own check says what is wrong.
 */
function joinDashValues(table: OptionTable, args: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const next = args[i + 1];
    if (a === '--') {
      out.push(...args.slice(i));
      break;
    }
    const name = a.startsWith('--') ? a.slice(2) : null;
    if (name !== null && table[name]?.type === 'string' && next !== undefined && /^-\d/.test(next)) {
      out.push(`${a}=${next}`);
      i++;
    } else out.push(a);
  }
  return out;
}

/** parseArgs's errors in this command's words: one line, no stray quote, a suggestion. */
function parseArgsMessage(table: OptionTable, err: Error & { code?: string }): string {
  const option = /'(-{1,2}[^'\s]*)'/.exec(err.message)?.[1];
  switch (err.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION': {
      if (option === undefined) break;
      const near = nearestOption(table, option.replace(/^-+/, ''));
      return `unknown option ${option}${near !== null ? ` (did you mean --${near}?)` : ''}`;
    }
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE': {
      const name = /--([a-z][a-z-]*)/.exec(err.message)?.[1];
      if (name === undefined) break;
      if (/argument missing|ambiguous/.test(err.message)) {
        const value = table[name]?.value;
        return `--${name} needs a value${value !== undefined ? ` (${value})` : ''}`;
      }
      if (/does not take an argument/.test(err.message)) return `--${name} takes no value`;
      break;
    }
  }
  return (err.message.split('\n', 1)[0] ?? '').replace(/\.$/, '');
}

/** The option of the table nearest to `name` (at most two edits away), or null. */
export function nearestOption(table: OptionTable, name: string): string | null {
  let best: string | null = null;
  let bestDistance = 3;
  for (const candidate of Object.keys(table)) {
    const d = editDistance(name, candidate);
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

/** Levenshtein distance, with a transposition counted as one edit. */
function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[a.length]![b.length]!;
}

/** The --help text: usage line, summary, then every option with its default. */
export function helpText(usage: string, summary: string, table: OptionTable): string {
  const rows = Object.entries(table).map(([name, spec]) => {
    const flag = `${spec.short ? `-${spec.short}, ` : '    '}--${name}${spec.type === 'string' ? ` ${spec.value ?? 'VALUE'}` : ''}`;
    const def = spec.default !== undefined ? ` (default: ${spec.default})` : '';
    return { flag, text: `${spec.help}${def}` };
  });
  const width = Math.max(...rows.map((r) => r.flag.length)) + 2;
  return `usage: ${usage}\n\n${summary}\n\noptions:\n${rows.map((r) => `  ${r.flag.padEnd(width)}${r.text}`).join('\n')}\n`;
}

/** A whole number within [min, max], or a UsageError naming the option. */
export function intOption(name: string, text: string, min: number, max: number): number {
  const n = Number(text);
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(n) || n < min || n > max) {
    throw new UsageError(`--${name} must be a whole number from ${min} to ${max}, not '${text}'`);
  }
  return n;
}
