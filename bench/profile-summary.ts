// `node dist/bench/profile-summary.js FILE.cpuprofile...`: where a server's time goes, from the
// V8 CPU profiles that `npm run bench -- --profile DIR` makes (node --cpu-prof in each server
// child). Prints self time by area (each src room, fastify, node internals, GC, idle) and the
// top functions by self time, as Markdown.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
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
  }
  const pct = (hits: number) => ((100 * hits) / total).toFixed(1);
  const sorted = (m: Map<string, number>) => [...m.entries()].sort((a, b) => b[1] - a[1]);
  const lines = [
    `${total} samples, ${(total * intervalMs).toFixed(0)} ms`,
    '',
    '| area | self % |',
    '|---|---|',
  ];
  for (const [area, hits] of sorted(byArea).slice(0, 16)) lines.push(`| ${area} | ${pct(hits)} |`);
  lines.push('', '| function | self % |', '|---|---|');
  for (const [name, hits] of sorted(byFunction).slice(0, top)) lines.push(`| ${name} | ${pct(hits)} |`);
  return lines.join('\n');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  for (const file of process.argv.slice(2)) {
    const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
    process.stdout.write(`### ${path.basename(file)}\n\n${summarise(profile, 25)}\n\n`);
  }
}
