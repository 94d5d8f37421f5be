// `npm run bench -- --scenario profile FILE.cpuprofile...`: where a server's time goes, from the
// V8 CPU profiles that `npm run bench -- --profile DIR` makes (node --cpu-prof in each server
// child). Prints self time by area (each src room, fastify, node internals, GC, idle) and the
// top functions by self time, as Markdown.
import { readFileSync } from 'node:fs';
import path from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
}

/** The area a frame belongs to: a src room, a dependency, Node's internals, or V8's pseudo-frames. */
export function areaOf(url: string, functionName: string): string {
  if (!url) return functionName.startsWith('(') ? functionName : '(native)';
  const room = /\/(?:dist\/)?src\/([a-z]+)\//.exec(url);
  if (room) return `src/${room[1]}`;
  const dependency = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
  if (dependency) return dependency[1] ?? 'node_modules';
  if (url.startsWith('node:')) return `node:${url.slice(5).split('/')[0]}`;
  if (url.includes('/bench/')) return 'bench';
  return url;
}

export function summarise(profile: CpuProfile, top: number): string {
  const intervalMs = (profile.endTime - profile.startTime) / 1000 / Math.max(1, profile.samples.length);
  const byArea = new Map<string, number>();
  const byFunction = new Map<string, number>();
  let total = 0;
  let idle = 0;
  for (const node of profile.nodes) {
    const hits = node.hitCount ?? 0;
    if (hits === 0) continue;
    const f = node.callFrame;
    const area = areaOf(f.url, f.functionName);
    const name =
      `${f.functionName || '(anonymous)'} ${f.url ? `${path.basename(f.url)}:${f.lineNumber + 1}` : ''}`.trim();
    byArea.set(area, (byArea.get(area) ?? 0) + hits);
    byFunction.set(name, (byFunction.get(name) ?? 0) + hits);
    total += hits;
    if (f.functionName === '(idle)') idle += hits;
  }
  // Percentages of the busy samples: the server idles while the other systems are measured.
  const busy = Math.max(1, total - idle);
  const pct = (hits: number) => ((100 * hits) / busy).toFixed(1);
  const sorted = (m: Map<string, number>) =>
    [...m.entries()].filter(([k]) => k !== '(idle)').sort((a, b) => b[1] - a[1]);
  const lines = [
    `${total} samples over ${(total * intervalMs).toFixed(0)} ms, ${busy} busy (${(busy * intervalMs).toFixed(0)} ms); percentages of busy time`,
    '',
    '| area | self % of busy |',
    '|---|---|',
  ];
  for (const [area, hits] of sorted(byArea).slice(0, 16)) lines.push(`| ${area} | ${pct(hits)} |`);
  lines.push('', '| function | self % of busy |', '|---|---|');
  for (const [name, hits] of sorted(byFunction).slice(0, top)) lines.push(`| ${name} | ${pct(hits)} |`);
  return lines.join('\n');
}

/** The call paths (callers, innermost first, `depth` deep) that lead to functions named `name`. */
export function callersOf(profile: CpuProfile, name: string, depth: number): string {
  const parent = new Map<number, ProfileNode>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node);
  const paths = new Map<string, number>();
  for (const node of profile.nodes) {
    if (node.callFrame.functionName !== name || !node.hitCount) continue;
    const chain: string[] = [];
    let p = parent.get(node.id);
    for (let i = 0; p && i < depth; i++, p = parent.get(p.id)) {
      const f = p.callFrame;
      chain.push(`${f.functionName || '(anonymous)'}@${path.basename(f.url)}:${f.lineNumber + 1}`);
    }
    const key = chain.join(' < ');
    paths.set(key, (paths.get(key) ?? 0) + node.hitCount);
  }
  return [...paths.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 8)
    .map(([k, v]) => `${v} samples: ${name} < ${k}`)
    .join('\n');
}

/** `--scenario profile FILE...`: the summary (or, with --callers NAME, the call paths) of each profile. */
export function summariseProfiles(files: readonly string[], callers: string | null): string {
  return files
    .map((file) => {
      const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
      const body = callers ? callersOf(profile, callers, 6) : summarise(profile, 25);
      return `### ${path.basename(file)}\n\n${body}\n`;
    })
    .join('\n');
}
