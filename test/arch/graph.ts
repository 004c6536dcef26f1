/**
 * The import graph of src/, read with the TypeScript parser (no type checking, so it is fast and
 * sees work in progress exactly as written). Shared by the architecture tests in this folder.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const SRC = join(ROOT, 'src');

/**
 * How a module is referenced. `static`: a value import/re-export (loaded with the importer; under
 * verbatimModuleSyntax `import { type X }` is kept as `import {}`, so it is static too). `type`:
 * `import type`, `export type ... from`, `import('x').T` in a type: erased at build. `dynamic`:
 * `import('x')` with a literal. `require`: `require('x')` or `createRequire(...)('x')` with a literal.
 */
export type EdgeKind = 'static' | 'type' | 'dynamic' | 'require';

export interface Edge {
  /** Importer, relative to src/ with forward slashes (`client/client.ts`). */
  from: string;
  specifier: string;
  kind: EdgeKind;
  /** 1-based line of the reference. */
  line: number;
  /** Target file relative to src/ for a resolved relative import. */
  to?: string;
  /** `node:` built-in without the prefix (`fs`, `fs/promises`). */
  builtin?: string;
  /** npm package name (`ws`, `@foxglove/wasm-zstd`). */
  pkg?: string;
  /** A relative specifier that matches no file. */
  unresolved?: true;
  /** Names brought in (`default`, `*` for a namespace or `export *`); empty for side-effect imports. */
  names: string[];
}

export interface SrcGraph {
  /** Every .ts file under src/, relative to src/, sorted. */
  files: string[];
  edges: Edge[];
  /** Outgoing edges per file. */
  out: Map<string, Edge[]>;
}

/** `src/a/b.ts` → `a/b.ts`, always with `/`. */
export function rel(abs: string): string {
  return relative(SRC, abs).split(sep).join('/');
}

/** Every file under `dir` (absolute paths), sorted, skipping nothing: src/ holds only sources. */
export function walk(dir: string): string[] {
  const found: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) found.push(...walk(path));
    else found.push(path);
  }
  return found;
}

const BUILTINS = new Set(builtinModules);

/** The npm package a bare specifier names: `@scope/name/sub` → `@scope/name`, `name/sub` → `name`. */
export function packageName(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : (parts[0] ?? specifier);
}

function isBuiltin(specifier: string): string | undefined {
  if (specifier.startsWith('node:')) return specifier.slice(5);
  return BUILTINS.has(specifier) ? specifier : undefined;
}

/** NodeNext resolution of a relative specifier as written in TS sources (`./x.js` means `./x.ts`). */
export function resolveRelative(fromAbs: string, specifier: string): string | undefined {
  const base = resolve(dirname(fromAbs), specifier);
  const stem = base.replace(/\.(m|c)?js$/, '');
  const candidates = [
    base.replace(/\.js$/, '.ts'),
    base.replace(/\.mjs$/, '.mts'),
    base.replace(/\.cjs$/, '.cts'),
    `${stem}.d.ts`,
    base,
    `${base}.ts`,
    join(base, 'index.ts'),
  ];
  return candidates.find((c) => existsSync(c) && statSync(c).isFile());
}

function literal(node: ts.Node | undefined): string | undefined {
  return node && (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node))
    ? node.text
    : undefined;
}

function importNames(clause: ts.ImportClause | undefined): string[] {
  if (!clause) return [];
  const names: string[] = [];
  if (clause.name) names.push('default');
  const bindings = clause.namedBindings;
  if (bindings && ts.isNamespaceImport(bindings)) names.push('*');
  if (bindings && ts.isNamedImports(bindings)) {
    for (const el of bindings.elements) names.push((el.propertyName ?? el.name).text);
  }
  return names;
}

function exportNames(decl: ts.ExportDeclaration): string[] {
  const clause = decl.exportClause;
  if (!clause || ts.isNamespaceExport(clause)) return ['*'];
  return clause.elements.map((el) => (el.propertyName ?? el.name).text);
}

/** `require('x')` or `createRequire(import.meta.url)('x')`. */
function isRequireCall(call: ts.CallExpression): boolean {
  const callee = call.expression;
  if (ts.isIdentifier(callee)) return callee.text === 'require';
  return (
    ts.isCallExpression(callee) &&
    ts.isIdentifier(callee.expression) &&
    callee.expression.text === 'createRequire'
  );
}

/** `a` of `a.b.c`: the name taken from the module in `import('m').a.b.c`. */
function leftmost(name: ts.EntityName): string {
  return ts.isIdentifier(name) ? name.text : leftmost(name.left);
}

interface RawRef {
  specifier: string;
  kind: EdgeKind;
  node: ts.Node;
  names: string[];
}

/** Every module reference in one source file. */
export function moduleRefs(source: ts.SourceFile): RawRef[] {
  const refs: RawRef[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node)) {
      const specifier = literal(node.moduleSpecifier);
      if (specifier !== undefined) {
        const kind = node.importClause?.isTypeOnly ? 'type' : 'static';
        refs.push({ specifier, kind, node, names: importNames(node.importClause) });
      }
    } else if (ts.isExportDeclaration(node)) {
      const specifier = literal(node.moduleSpecifier);
      if (specifier !== undefined) {
        refs.push({ specifier, kind: node.isTypeOnly ? 'type' : 'static', node, names: exportNames(node) });
      }
    } else if (ts.isImportEqualsDeclaration(node)) {
      const ref = node.moduleReference;
      const specifier = ts.isExternalModuleReference(ref) ? literal(ref.expression) : undefined;
      if (specifier !== undefined) {
        refs.push({ specifier, kind: node.isTypeOnly ? 'type' : 'static', node, names: ['*'] });
      }
    } else if (ts.isImportTypeNode(node)) {
      const arg = node.argument;
      const specifier = ts.isLiteralTypeNode(arg) ? literal(arg.literal) : undefined;
      const name = node.qualifier ? leftmost(node.qualifier) : '*';
      if (specifier !== undefined) refs.push({ specifier, kind: 'type', node, names: [name] });
    } else if (ts.isCallExpression(node)) {
      const specifier = literal(node.arguments[0]);
      if (specifier !== undefined && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
        refs.push({ specifier, kind: 'dynamic', node, names: ['*'] });
      } else if (specifier !== undefined && isRequireCall(node)) {
        refs.push({ specifier, kind: 'require', node, names: ['*'] });
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return refs;
}

export function parse(abs: string): ts.SourceFile {
  return ts.createSourceFile(abs, readFileSync(abs, 'utf8'), ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
}

let cached: SrcGraph | undefined;

/** The graph of src/ as it is on disk now (read once per test file). */
export function srcGraph(): SrcGraph {
  if (cached) return cached;
  const files = walk(SRC).filter((f) => f.endsWith('.ts'));
  const edges: Edge[] = [];
  for (const abs of files) {
    const source = parse(abs);
    for (const ref of moduleRefs(source)) {
      const line = source.getLineAndCharacterOfPosition(ref.node.getStart(source)).line + 1;
      const edge: Edge = { from: rel(abs), specifier: ref.specifier, kind: ref.kind, line, names: ref.names };
      if (ref.specifier.startsWith('.')) {
        const target = resolveRelative(abs, ref.specifier);
        if (target) edge.to = rel(target);
        else edge.unresolved = true;
      } else {
        const builtin = isBuiltin(ref.specifier);
        if (builtin !== undefined) edge.builtin = builtin;
        else edge.pkg = packageName(ref.specifier);
      }
      edges.push(edge);
    }
  }
  const out = new Map<string, Edge[]>();
  const rels = files.map(rel);
  for (const f of rels) out.set(f, []);
  for (const e of edges) out.get(e.from)?.push(e);
  cached = { files: rels, edges, out };
  return cached;
}

/** `client/client.ts:12 → server/x.ts (import type)`: one offending edge, for messages. */
export function describeEdge(e: Edge): string {
  const target = e.to ?? e.builtin ?? e.pkg ?? e.specifier;
  const how = { static: 'import', type: 'import type', dynamic: 'import()', require: 'require()' }[e.kind];
  return `src/${e.from}:${e.line} → ${e.to ? `src/${target}` : `'${target}'`} (${how} '${e.specifier}')`;
}

/** The top folder of a src/ file (`client`), or `index` for src/index.ts. */
export function area(file: string): string {
  const slash = file.indexOf('/');
  return slash < 0 ? file.replace(/\.ts$/, '') : file.slice(0, slash);
}
