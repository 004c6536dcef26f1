/**
 * Architecture guards: the structural rules of issue 14 and the brief's engineering standards,
 * checked on src/ as it is on disk. Each rule fails with every offending file or import listed.
 * One test file on purpose: the import graph is parsed once (a few hundred ms).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { assert, describe, expect, it } from 'vitest';
import { type Adjacency, addArc, cyclesOf, cyclesThrough, cyclicComponents } from './cycles.js';
import {
  area,
  describeEdge,
  type Edge,
  moduleRefs,
  packageName,
  ROOT,
  rel,
  resolveRelative,
  SRC,
  srcGraph,
  walk,
} from './graph.js';

/** Fails with the headline and one offending item per line, unless there is none. */
function expectNone(headline: string, items: string[]): void {
  if (items.length > 0) assert.fail(`${headline} (${items.length}):\n  ${items.join('\n  ')}`);
}

const MAX_LINES = 400;
const ROOMS = ['juggler', 'mqtt', 'record', 'files'];
/**
 * What the rooms may share with the core besides its public API: pure helpers with no protocol
 * or socket knowledge (argument checks, the package version, the one logger: its state is global, so a bundled copy
 * still shares it). transport/, protocol/, server/, client/ stay out of reach.
 */
const ROOM_HELPERS = ['util/log.ts', 'util/check.ts', 'util/safely.ts', 'util/package-info.ts'];
const { files, edges, out } = srcGraph();
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  exports?: Record<string, unknown>;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
};

const srcEdges = (e: Edge): e is Edge & { to: string } => e.to !== undefined && !e.to.startsWith('../');
const lazy = (e: Edge): boolean => e.kind === 'dynamic' || e.kind === 'require';

describe('the guards themselves (so that a rule can fail)', () => {
  it('sees every kind of module reference', () => {
    const text = [
      "import a from './a.js';",
      "import type { B } from './b.js';",
      "import { type C } from './c.js';",
      "export { d } from './d.js';",
      "export type { E } from './e.js';",
      "export * from './f.js';",
      "import g = require('./g.js');",
      "import './h.js';",
      "type I = typeof import('./i.js').I;",
      "const j = await import('./j.js');",
      "const k = createRequire(import.meta.url)('k');",
      "const l = require('node:fs');",
      'const m = import(name);',
    ].join('\n');
    const source = ts.createSourceFile('x.ts', text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
    const seen = moduleRefs(source).map((r) => `${r.specifier} ${r.kind} ${r.names.join(',')}`);
    expect(seen).toEqual([
      './a.js static default',
      './b.js type B',
      './c.js static C',
      './d.js static d',
      './e.js type E',
      './f.js static *',
      './g.js static *',
      './h.js static ',
      './i.js type I',
      './j.js dynamic *',
      'k require *',
      'node:fs require *',
    ]);
    expect(packageName('@foxglove/wasm-zstd/dist/x.js')).toBe('@foxglove/wasm-zstd');
    expect(packageName('ws')).toBe('ws');
  });

  it('resolves ./x.js to x.ts and a folder to its index.ts', () => {
    expect(rel(resolveRelative(join(SRC, 'index.ts'), './protocol/index.js') ?? '')).toBe(
      'protocol/index.ts',
    );
    expect(rel(resolveRelative(join(SRC, 'index.ts'), './protocol') ?? '')).toBe('protocol/index.ts');
    expect(resolveRelative(join(SRC, 'index.ts'), './no-such-file.js')).toBeUndefined();
  });

  it('finds cycles and cycles through lazy arcs', () => {
    const adj: Adjacency = new Map();
    for (const [a, b] of [
      ['a', 'b'],
      ['b', 'c'],
      ['c', 'a'],
      ['c', 'b'],
      ['s', 's'],
      ['x', 'y'],
    ] as const) {
      addArc(adj, a, b);
    }
    expect(cyclicComponents(adj)).toEqual([['a', 'b', 'c'], ['s']]);
    expect(cyclesOf(adj)).toEqual([
      ['a', 'b', 'c', 'a'],
      ['b', 'c', 'b'],
      ['s', 's'],
    ]);
    addArc(adj, 'y', 'x');
    expect(cyclesThrough(adj, [['y', 'x']])).toEqual([['y', 'x', 'y']]);
    expect(cyclesThrough(adj, [['x', 'a']])).toEqual([]);
  });

  it('reads the real tree: src/index.ts and many imports are there', () => {
    expect(files).toContain('index.ts');
    expect(files.length).toBeGreaterThan(50);
    expect(edges.filter(srcEdges).length).toBeGreaterThan(200);
  });
});

describe('files and imports resolve', () => {
  it(`has no file under src/ over ${MAX_LINES} lines`, () => {
    const long: string[] = [];
    for (const abs of walk(SRC)) {
      const text = readFileSync(abs, 'utf8');
      const lines = text.split('\n').length - (text.endsWith('\n') ? 1 : 0);
      if (lines > MAX_LINES) long.push(`src/${rel(abs)}: ${lines} lines`);
    }
    expectNone(`files over ${MAX_LINES} lines; split them by job`, long);
  });

  it('every relative import names a file inside src/', () => {
    const bad = edges.filter((e) => e.unresolved || e.to?.startsWith('../')).map(describeEdge);
    expectNone('relative imports that resolve to no file in src/', bad);
  });
});

const HOW = { static: '→', type: '→', dynamic: '⇢', require: '⇢' } as const;

/** `src/a.ts → src/b.ts:3 ⇢ src/a.ts:9`: ⇢ where the hop is only lazy; the line is the importer's. */
function showCycle(cycle: string[]): string {
  let text = `src/${cycle[0]}`;
  for (let i = 1; i < cycle.length; i++) {
    const from = cycle[i - 1]!;
    const to = cycle[i]!;
    const hops = (out.get(from) ?? []).filter((e) => e.to === to);
    const shown = hops.find((e) => !lazy(e)) ?? hops[0];
    text += ` ${shown ? HOW[shown.kind] : '?'} src/${to}${shown ? ` (line ${shown.line})` : ''}`;
  }
  return text;
}

function adjacency(keep: (e: Edge) => boolean): Adjacency {
  const adj: Adjacency = new Map();
  for (const e of edges) if (srcEdges(e) && keep(e)) addArc(adj, e.from, e.to);
  return adj;
}

describe('import cycles in src/', () => {
  it('has no cycle of imports, type-only imports or re-exports', () => {
    const cycles = cyclesOf(adjacency((e) => !lazy(e)));
    expectNone(
      'import cycles (each hop gives the line of the import in the file before it); break each by ' +
        'moving the shared part into a lower module or depending on an interface',
      cycles.map(showCycle),
    );
  });

  it('has no cycle that closes only through a lazy import() or require()', () => {
    const eager = adjacency((e) => !lazy(e));
    const lazyArcs: [string, string][] = edges
      .filter((e) => srcEdges(e) && lazy(e) && !eager.get(e.from)?.includes(e.to!))
      .map((e) => [e.from, e.to!]);
    expectNone(
      'import cycles that need a lazy edge (⇢ import()/require(), → import); the lead decides whether ' +
        'each is acceptable',
      cyclesThrough(
        adjacency(() => true),
        lazyArcs,
      ).map(showCycle),
    );
  });
});

/** Edges from files in `fromAreas` to src/ files in `toAreas`, described. */
function crossing(
  fromAreas: (a: string) => boolean,
  toAreas: (a: string) => boolean,
  keep = (_: Edge) => true,
) {
  return edges
    .filter((e) => srcEdges(e) && fromAreas(area(e.from)) && toAreas(area(e.to!)) && keep(e))
    .map(describeEdge);
}
const among =
  (...names: string[]) =>
  (a: string) =>
    names.includes(a);
const not =
  (...names: string[]) =>
  (a: string) =>
    !names.includes(a);

/** Built-ins that do no I/O: the only ones the pure codec may use. */
const PURE_BUILTINS = ['buffer', 'crypto', 'string_decoder', 'util'];

describe('layers: dependencies point downward', () => {
  it('protocol/ imports only protocol/', () => {
    expectNone(
      'protocol/ is the pure codec; it imports nothing else from src/',
      crossing(among('protocol'), not('protocol')),
    );
  });

  it(`protocol/ uses no npm package and no I/O built-in (only ${PURE_BUILTINS.join(', ')})`, () => {
    const bad = edges
      .filter((e) => area(e.from) === 'protocol')
      .filter((e) => e.pkg !== undefined || (e.builtin !== undefined && !PURE_BUILTINS.includes(e.builtin)))
      .map(describeEdge);
    expectNone('protocol/ is bytes in, packets out: no sockets, files, processes or npm packages', bad);
  });

  it('transport/ imports nothing above it', () => {
    const above = among('server', 'client', 'cli', 'position', 'juggler', 'mqtt', 'record', 'files');
    expectNone('transport/ must not depend on the layers that use it', crossing(among('transport'), above));
  });

  it('server/ does not import client/ or cli/', () => {
    expectNone('server/ imports client/ or cli/', crossing(among('server'), among('client', 'cli')));
  });

  it('client/ does not import server/ or cli/', () => {
    expectNone('client/ imports server/ or cli/', crossing(among('client'), among('server', 'cli')));
  });

  it('util/ imports only util/ and protocol/', () => {
    expectNone(
      'util/ is the bottom floor beside protocol/; it imports nothing else from src/',
      crossing(among('util'), not('util', 'protocol')),
    );
  });

  it('nothing outside cli/ imports cli/', () => {
    expectNone(
      'imports of cli/ from outside it (the CLI is the top; move what is shared down, e.g. to util/)',
      crossing(not('cli'), among('cli')),
    );
  });

  // A convenience method of the core (server.serveFiles, client.getFile) may name a room's types
  // and load the room with import() when called; it never loads one eagerly.
  it('the core loads the outer rooms only lazily (import()); it may name their types', () => {
    expectNone(
      'core files importing an outer room (juggler/, mqtt/, record/, files/) at load time; load it ' +
        'with import() when it is used',
      crossing(not('cli', ...ROOMS), among(...ROOMS), (e) => !lazy(e) && e.kind !== 'type'),
    );
  });
});

/** What src/index.ts re-exports: original name → exported name. */
function indexExports(): Map<string, string> {
  const names = new Map<string, string>();
  const entry = join(SRC, 'index.ts');
  const source = ts.createSourceFile(entry, readFileSync(entry, 'utf8'), ts.ScriptTarget.Latest);
  for (const st of source.statements) {
    if (!ts.isExportDeclaration(st) || !st.exportClause || !ts.isNamedExports(st.exportClause)) continue;
    for (const el of st.exportClause.elements) names.set((el.propertyName ?? el.name).text, el.name.text);
  }
  return names;
}

describe('outer rooms use the public API', () => {
  it('juggler/, mqtt/, record/, files/ import the library only through src/index.ts', () => {
    const exported = indexExports();
    const bad: string[] = [];
    for (const e of edges) {
      const room = area(e.from);
      if (!ROOMS.includes(room) || !srcEdges(e)) continue;
      const target = area(e.to);
      const otherRoomEntry = ROOMS.includes(target) && e.to === `${target}/index.ts`;
      if (target === room || e.to === 'index.ts' || otherRoomEntry || ROOM_HELPERS.includes(e.to)) continue;
      const names = e.names.map((n) => {
        const as = exported.get(n);
        return as === undefined ? `${n} (NOT public)` : as === n ? `${n} (public)` : `${n} (public as ${as})`;
      });
      bad.push(`${describeEdge(e)}: ${names.join(', ')}`);
    }
    expectNone(
      'outer rooms reaching into library internals (allowed: their own folder, src/index.ts, another ' +
        'room’s index.ts, the shared helpers util/log, util/check, util/safely and util/package-info, built-ins, npm packages). Import "(public)" names from src/index.ts; a "(NOT ' +
        'public)" name is not exported by src/index.ts: if the room legitimately needs it, add it to ' +
        'the public API on purpose, else stop using it',
      bad,
    );
  });
});

/** Packages a core-only user must never load (they belong to the outer rooms and the CLI). */
const ROOM_PACKAGES = [
  'ws',
  'mqtt',
  '@mcap/core',
  'fast-json-patch',
  'bcryptjs',
  'apache-md5',
  'commander',
  'pino-pretty',
  'hdr-histogram-js',
  'lz4js',
];
const isRoomPackage = (name: string) => ROOM_PACKAGES.includes(name) || name.startsWith('@foxglove/');

/** Breadth-first from src/index.ts over value imports; the chain that first reaches each edge. */
function staticReach(): { edge: Edge; chain: string[] }[] {
  const chains = new Map<string, string[]>([['index.ts', ['index.ts']]]);
  const queue = ['index.ts'];
  const reached: { edge: Edge; chain: string[] }[] = [];
  for (let head = 0; head < queue.length; head++) {
    const file = queue[head]!;
    for (const e of out.get(file) ?? []) {
      if (e.kind !== 'static') continue;
      reached.push({ edge: e, chain: chains.get(file)! });
      if (e.to && !chains.has(e.to)) {
        chains.set(e.to, [...chains.get(file)!, e.to]);
        queue.push(e.to);
      }
    }
  }
  return reached;
}

const showChain = (chain: string[], e: Edge) =>
  `${chain.map((f) => `src/${f}`).join(' → ')} → ${e.to ? `src/${e.to}` : `'${e.specifier}'`} (line ${e.line})`;

describe('the core entry stays small', () => {
  const reached = staticReach();

  it('src/index.ts does not statically reach an outer room or its packages', () => {
    expect(
      new Set(reached.map((r) => r.chain.at(-1))).size,
      'files reached from src/index.ts',
    ).toBeGreaterThan(20);
    const seen = new Set<string>();
    const bad: string[] = [];
    for (const { edge, chain } of reached) {
      const hit =
        (edge.to && ROOMS.includes(area(edge.to)) ? `src/${area(edge.to)}/` : undefined) ??
        (edge.pkg && isRoomPackage(edge.pkg) ? edge.pkg : undefined);
      if (hit && !seen.has(hit)) {
        seen.add(hit);
        bad.push(`${hit}: ${showChain(chain, edge)}`);
      }
    }
    expectNone(
      'what a core-only user would load through static imports (use a lazy import() instead)',
      bad.sort(),
    );
  });

  it('src/index.ts statically reaches only npm packages in "dependencies"', () => {
    const deps = Object.keys(pkg.dependencies ?? {});
    const seen = new Set<string>();
    const bad: string[] = [];
    for (const { edge, chain } of reached) {
      if (edge.pkg && !deps.includes(edge.pkg) && !seen.has(edge.pkg)) {
        seen.add(edge.pkg);
        bad.push(`${edge.pkg}: ${showChain(chain, edge)}`);
      }
    }
    expectNone('packages the core loads that a plain `npm install vsoa-edge` does not install', bad.sort());
  });
});

describe('package.json matches the sources', () => {
  const subpaths = Object.keys(pkg.exports ?? {}).filter((k) => k !== './package.json');

  it('exports ".", "./juggler", "./mqtt", "./record", "./files", each with a source entry', () => {
    const missing = ['.', ...ROOMS.map((r) => `./${r}`)].filter((s) => !subpaths.includes(s));
    const noSource = subpaths
      .map((s) => (s === '.' ? 'index.ts' : `${s.slice(2)}/index.ts`))
      .filter((f) => !files.includes(f))
      .map((f) => `src/${f} (for exports "${f === 'index.ts' ? '.' : `./${f.replace('/index.ts', '')}`}")`);
    expectNone('package.json exports without a source entry, or expected subpaths missing', [
      ...missing.map((s) => `exports has no "${s}"`),
      ...noSource,
    ]);
  });

  it('every npm package src/ loads (outside the bundled CLI) is a dependency, optional or peer', () => {
    const declared = new Set([
      ...Object.keys(pkg.dependencies ?? {}),
      ...Object.keys(pkg.optionalDependencies ?? {}),
      ...Object.keys(pkg.peerDependencies ?? {}),
    ]);
    // src/cli/ ships as dist/cli/vsoa.cjs with its packages inside (scripts/build-bundles.mjs).
    const bad = edges
      .filter((e) => e.pkg && e.kind !== 'type' && area(e.from) !== 'cli' && !declared.has(e.pkg))
      .map((e) => `${describeEdge(e)}${pkg.devDependencies?.[e.pkg!] ? ' (only in devDependencies)' : ''}`);
    expectNone('npm packages a user of the published library would be missing', bad);
  });
});
