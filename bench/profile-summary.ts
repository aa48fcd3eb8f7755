/**
 * Summarises a V8 `.cpuprofile` (from `node --cpu-prof`): self time aggregated by function and
 * script, top N, plus self time by area (Switchboard's src/, each npm package, Node internals,
 * V8 builtins, GC, idle).
 *
 *   node --import tsx bench/profile-summary.ts <file.cpuprofile|dir> [--top 25] [--from-ms N] [--to-ms N]
 *
 * `--from-ms`/`--to-ms` keep only the samples of that window (ms after the process started),
 * e.g. to leave out start-up (module loading, schema compilation). `--callers <function>`
 * instead lists that function's self time by the chain of its callers (`--depth`, default 4).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { transformSync } from 'esbuild';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  hitCount?: number;
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

export interface FunctionCost {
  function: string;
  location: string;
  area: string;
  selfMs: number;
  /** Share of the busy (non-idle) time, %. */
  percent: number;
}

export interface ProfileSummary {
  file: string;
  /** The window summarised, ms after the profile started. */
  window?: { fromMs: number; toMs: number | null };
  wallMs: number;
  busyMs: number;
  idleMs: number;
  top: FunctionCost[];
  areas: { area: string; selfMs: number; percent: number }[];
}

/** Where a script belongs: src/…, an npm package, node:internal, or V8 itself. */
function areaOf(url: string, name: string): string {
  if (name === '(idle)') return '(idle)';
  if (name === '(garbage collector)') return '(gc)';
  if (name === '(program)') return '(program)';
  if (url === '') return '(v8 builtins / native)';
  if (url.startsWith('node:')) return 'node:internal';
  const modules = url.lastIndexOf('/node_modules/');
  if (modules >= 0) {
    const rest = url.slice(modules + '/node_modules/'.length).split('/');
    return rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0];
  }
  const src = url.indexOf('/src/');
  if (src >= 0) return `src/${url.slice(src + 5).split('/')[0]}`;
  return url;
}

// ---------------------------------------------------------------------------------------------
// tsx compiles each .ts file with esbuild (minified whitespace: the whole module on one line), so
// the profile's positions are in that output. The same transform, with its source map, gives
// back the line in the .ts file.

const BASE64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/** Generated (line, column) → original line (0-based), from a source map's `mappings`. */
function decodeMappings(mappings: string): Map<number, { col: number; line: number }[]> {
  const out = new Map<number, { col: number; line: number }[]>();
  // Only the original line is needed: fields 2 (source), 4 (column) and 5 (name) are skipped.
  let sourceLine = 0;
  mappings.split(';').forEach((group, generatedLine) => {
    let col = 0;
    const segments: { col: number; line: number }[] = [];
    for (const segment of group.split(',')) {
      if (segment === '') continue;
      const values: number[] = [];
      let value = 0;
      let shift = 0;
      for (const ch of segment) {
        const digit = BASE64.indexOf(ch);
        value += (digit & 31) << shift;
        if (digit & 32) shift += 5;
        else {
          values.push(value & 1 ? -(value >>> 1) : value >>> 1);
          value = 0;
          shift = 0;
        }
      }
      col += values[0];
      if (values.length >= 4) {
        sourceLine += values[2];
        segments.push({ col, line: sourceLine });
      }
    }
    out.set(generatedLine, segments);
  });
  return out;
}

const maps = new Map<string, Map<number, { col: number; line: number }[]> | null>();

/** The .ts line (1-based) of a position in tsx's output, or undefined. */
function originalLine(url: string, line: number, column: number): number | undefined {
  if (!url.startsWith('file://') || url.includes('/node_modules/') || !/\.[cm]?ts$/.test(url)) {
    return undefined;
  }
  let map = maps.get(url);
  if (map === undefined) {
    try {
      const path = fileURLToPath(url);
      const result = transformSync(readFileSync(path, 'utf8'), {
        loader: 'ts',
        format: 'esm',
        target: `node${process.versions.node}`,
        sourcemap: 'external',
        minifyWhitespace: true,
        keepNames: true,
        sourcefile: path,
      });
      map = decodeMappings((JSON.parse(result.map) as { mappings: string }).mappings);
    } catch {
      map = null;
    }
    maps.set(url, map);
  }
  const segments = map?.get(line);
  if (!segments || segments.length === 0) return undefined;
  let best = segments[0];
  for (const segment of segments) {
    if (segment.col > column) break;
    best = segment;
  }
  return best.line + 1;
}

function shortLocation(url: string, line: number, column: number): string {
  if (url === '') return '';
  const mapped = originalLine(url, line, column);
  let path = url.replace(/^file:\/\//, '');
  const modules = path.lastIndexOf('/node_modules/');
  if (modules >= 0) path = path.slice(modules + '/node_modules/'.length);
  else {
    const src = path.indexOf('/src/');
    if (src >= 0) path = path.slice(src + 1);
  }
  return mapped === undefined ? `${path}:${line + 1}` : `${path}:${mapped}`;
}

export interface SummaryOptions {
  top?: number;
  /** Only samples from this many ms after the profile started (skip start-up)… */
  fromMs?: number;
  /** …and up to this many ms after it. */
  toMs?: number;
}

export function summarizeProfile(file: string, options: SummaryOptions = {}): ProfileSummary {
  const top = options.top ?? 25;
  const fromUs = (options.fromMs ?? 0) * 1000;
  const toUs = (options.toMs ?? Number.POSITIVE_INFINITY) * 1000;
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map<number, ProfileNode>();
  for (const node of profile.nodes) byId.set(node.id, node);
  const selfUs = new Map<number, number>();
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  if (samples.length > 0) {
    // A sample's time is the gap until the next sample (the last one gets the mean gap).
    const mean = (profile.endTime - profile.startTime) / samples.length;
    let at = 0;
    for (let i = 0; i < samples.length; i++) {
      at += deltas[i] ?? 0;
      if (at < fromUs || at > toUs) continue;
      const gap = i + 1 < deltas.length ? deltas[i + 1] : mean;
      selfUs.set(samples[i], (selfUs.get(samples[i]) ?? 0) + Math.max(0, gap));
    }
  } else {
    const total = profile.nodes.reduce((sum, n) => sum + (n.hitCount ?? 0), 0) || 1;
    const per = (profile.endTime - profile.startTime) / total;
    for (const node of profile.nodes) selfUs.set(node.id, (node.hitCount ?? 0) * per);
  }

  const functions = new Map<string, { name: string; location: string; area: string; us: number }>();
  const areas = new Map<string, number>();
  let idleUs = 0;
  let totalUs = 0;
  for (const [id, us] of selfUs) {
    const node = byId.get(id);
    if (!node) continue;
    const { functionName, url, lineNumber, columnNumber } = node.callFrame;
    const name = functionName || '(anonymous)';
    const area = areaOf(url, name);
    totalUs += us;
    if (area === '(idle)') {
      idleUs += us;
      continue;
    }
    areas.set(area, (areas.get(area) ?? 0) + us);
    const location = shortLocation(url, lineNumber, columnNumber);
    const key = `${name}\u0000${location}`;
    const entry = functions.get(key) ?? { name, location, area, us: 0 };
    entry.us += us;
    functions.set(key, entry);
  }
  const busyUs = totalUs - idleUs || 1;
  const ms = (us: number) => Math.round(us / 100) / 10;
  const pct = (us: number) => Math.round((1000 * us) / busyUs) / 10;
  return {
    file,
    window: { fromMs: options.fromMs ?? 0, toMs: options.toMs ?? null },
    wallMs: ms(Math.min(profile.endTime - profile.startTime, toUs) - fromUs),
    busyMs: ms(totalUs - idleUs),
    idleMs: ms(idleUs),
    top: [...functions.values()]
      .sort((a, b) => b.us - a.us)
      .slice(0, top)
      .map((f) => ({
        function: f.name,
        location: f.location,
        area: f.area,
        selfMs: ms(f.us),
        percent: pct(f.us),
      })),
    areas: [...areas.entries()]
      .sort((a, b) => b[1] - a[1])
      .map(([area, us]) => ({ area, selfMs: ms(us), percent: pct(us) })),
  };
}

/**
 * Who calls `functionName`: its self time in the window, split by the chain of its nearest
 * `depth` callers (to tell, say, which `digest` is the token hash and which the HMAC).
 * `functionName` may also be a location as the summary prints it, for anonymous functions.
 */
export function callersOf(
  file: string,
  functionName: string,
  options: SummaryOptions & { depth?: number } = {},
): { selfMs: number; chain: string }[] {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map<number, ProfileNode>();
  const parent = new Map<number, number>();
  for (const node of profile.nodes) {
    byId.set(node.id, node);
    for (const child of node.children ?? []) parent.set(child, node.id);
  }
  const fromUs = (options.fromMs ?? 0) * 1000;
  const toUs = (options.toMs ?? Number.POSITIVE_INFINITY) * 1000;
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  const chains = new Map<string, number>();
  let at = 0;
  for (let i = 0; i < samples.length; i++) {
    at += deltas[i] ?? 0;
    if (at < fromUs || at > toUs) continue;
    const node = byId.get(samples[i]);
    if (!node) continue;
    const { functionName: name, url, lineNumber, columnNumber } = node.callFrame;
    // By name, or by location for anonymous functions (`src/store/sqlite/driver.ts:216`).
    if (name !== functionName && shortLocation(url, lineNumber, columnNumber) !== functionName) {
      continue;
    }
    const names: string[] = [];
    let current = parent.get(node.id);
    for (let d = 0; d < (options.depth ?? 4) && current !== undefined; d++) {
      const frame = byId.get(current)?.callFrame;
      if (!frame) break;
      names.push(
        `${frame.functionName || '(anonymous)'} ${shortLocation(frame.url, frame.lineNumber, frame.columnNumber)}`,
      );
      current = parent.get(current);
    }
    const key = names.join(' ← ');
    chains.set(key, (chains.get(key) ?? 0) + (deltas[i + 1] ?? 0));
  }
  return [...chains.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, options.top ?? 10)
    .map(([chain, us]) => ({ selfMs: Math.round(us / 100) / 10, chain }));
}

export function formatSummary(summary: ProfileSummary): string {
  const window = summary.window
    ? `window ${summary.window.fromMs}–${summary.window.toMs ?? 'end'} ms after start; `
    : '';
  const lines = [
    `${window}wall ${summary.wallMs} ms, busy ${summary.busyMs} ms, idle ${summary.idleMs} ms (percentages are of busy time)`,
    '',
    '  self ms      %  function                                  location',
  ];
  for (const f of summary.top) {
    lines.push(
      `${f.selfMs.toFixed(1).padStart(9)} ${f.percent.toFixed(1).padStart(6)}  ${f.function.slice(0, 40).padEnd(40)}  ${f.location}`,
    );
  }
  lines.push('', '  self ms      %  area');
  for (const a of summary.areas.slice(0, 20)) {
    lines.push(`${a.selfMs.toFixed(1).padStart(9)} ${a.percent.toFixed(1).padStart(6)}  ${a.area}`);
  }
  return lines.join('\n');
}

function cli(): void {
  const args = process.argv.slice(2);
  const options: SummaryOptions & { depth?: number } = {};
  const files: string[] = [];
  let callers: string | undefined;
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--top') options.top = Number(args[++i]);
    else if (args[i] === '--from-ms') options.fromMs = Number(args[++i]);
    else if (args[i] === '--to-ms') options.toMs = Number(args[++i]);
    else if (args[i] === '--callers') callers = args[++i];
    else if (args[i] === '--depth') options.depth = Number(args[++i]);
    else files.push(args[i]);
  }
  if (files.length === 0) {
    process.stderr.write(
      'usage: bench/profile-summary.ts <file.cpuprofile|dir>… [--top 25] [--from-ms N] [--to-ms N] [--callers fn [--depth 4]]\n',
    );
    process.exit(2);
  }
  for (const path of files) {
    const list = statSync(path).isDirectory()
      ? readdirSync(path)
          .filter((f) => f.endsWith('.cpuprofile'))
          .map((f) => join(path, f))
      : [path];
    for (const file of list) {
      if (callers !== undefined) {
        process.stdout.write(`\n${file}: callers of ${callers}\n`);
        for (const { selfMs, chain } of callersOf(file, callers, options)) {
          process.stdout.write(`${selfMs.toFixed(1).padStart(9)}  ${chain}\n`);
        }
      } else {
        process.stdout.write(`\n${file}\n${formatSummary(summarizeProfile(file, options))}\n`);
      }
    }
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) cli();
