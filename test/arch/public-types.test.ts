/**
 * Rule: no `any` in the public types (brief, engineering standards). The compiler's checker walks
 * every export of src/index.ts and of each subpath entry, and the members, parameters and results
 * of the types declared in src/ that they mention; declarations from node_modules are not ours
 * and are not entered. Private, protected and @internal members are not public (stripInternal).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { assert, describe, expect, it } from 'vitest';
import { ROOT, SRC, walk } from './graph.js';

const ENTRIES = ['index.ts', 'juggler/index.ts', 'mqtt/index.ts', 'record/index.ts', 'files/index.ts'];
const ANY = /\bany\b/;
const FORMAT = ts.TypeFormatFlags.NoTruncation;

/** An in-memory file under src/ (never written): "ours" for the finder, like the real sources. */
const PROBE = join(SRC, '__arch_probe__.ts');
const PROBE_TEXT = [
  'export interface Opts { ok: string; onData?: (x: any) => void }',
  'export class K {',
  '  private hidden: any; #secret: any = 1;',
  '  /** @internal */',
  '  inner: any;',
  '  constructor(o?: { x: any }) { this.hidden = o; }',
  '  run(o: Opts): Promise<number> { return Promise.resolve(o.ok.length); }',
  '  on(event: string, cb: (...args: any[]) => void): this { return this; }',
  '}',
  'export function f(): Record<string, any> { return {}; }',
  'export const clean = (a: number): string => String(a);',
].join('\n');

let program: ts.Program | undefined;

/** The project's compiler options; roots: the entries, src/'s ambient .d.ts and the probe. */
function projectProgram(): ts.Program {
  if (program) return program;
  const configPath = join(ROOT, 'tsconfig.json');
  const config = ts.readConfigFile(configPath, ts.sys.readFile);
  const options = {
    ...ts.parseJsonConfigFileContent(config.config, ts.sys, ROOT, undefined, configPath).options,
  };
  options.noEmit = true;
  const roots = [
    ...ENTRIES.map((f) => join(SRC, f)).filter((f) => existsSync(f)),
    ...walk(SRC).filter((f) => f.endsWith('.d.ts')),
    PROBE,
  ];
  const host = ts.createCompilerHost(options);
  const read = host.getSourceFile.bind(host);
  host.getSourceFile = (name, lang, ...rest) =>
    name === PROBE ? ts.createSourceFile(name, PROBE_TEXT, lang) : read(name, lang, ...rest);
  const exists = host.fileExists.bind(host);
  host.fileExists = (name) => name === PROBE || exists(name);
  program = ts.createProgram({ rootNames: roots, options, host });
  return program;
}

/** Everything `any` in the exports of one module of the program. */
function findAny(file: string, label: string): { found: string[]; exports: number } | undefined {
  const p = projectProgram();
  const checker = p.getTypeChecker();
  const source = p.getSourceFile(file);
  const module = source && checker.getSymbolAtLocation(source);
  if (!module) return undefined;
  const finder = new AnyFinder(checker);
  const exports = checker.getExportsOfModule(module);
  for (const symbol of exports) finder.exportOf(symbol, [label, symbol.name]);
  return { found: finder.found, exports: exports.length };
}

const show = (path: string[]) => path.filter((p) => p !== '').join(' › ');
const inSrc = (node: ts.Node) => node.getSourceFile().fileName.startsWith(SRC);

function isPublicMember(decl: ts.Declaration): boolean {
  if (!inSrc(decl)) return false;
  const name = ts.getNameOfDeclaration(decl);
  if (name && ts.isPrivateIdentifier(name)) return false;
  if (ts.getCombinedModifierFlags(decl) & (ts.ModifierFlags.Private | ts.ModifierFlags.Protected))
    return false;
  // As stripInternal decides: an `@internal` in a comment just before the declaration.
  const text = decl.getSourceFile().text;
  const comments = ts.getLeadingCommentRanges(text, decl.getFullStart()) ?? [];
  return !comments.some((r) => text.slice(r.pos, r.end).includes('@internal'));
}

/** Finds `any` in the public surface; each finding is `entry › export › member …: type text`. */
class AnyFinder {
  readonly found: string[] = [];
  constructor(private readonly checker: ts.TypeChecker) {}

  exportOf(symbol: ts.Symbol, path: string[]): void {
    const target = symbol.flags & ts.SymbolFlags.Alias ? this.checker.getAliasedSymbol(symbol) : symbol;
    const decl = target.declarations?.find(inSrc);
    if (!decl) return;
    if (target.flags & (ts.SymbolFlags.Class | ts.SymbolFlags.Interface | ts.SymbolFlags.TypeAlias)) {
      this.type(this.checker.getDeclaredTypeOfSymbol(target), path);
    }
    if (target.flags & ts.SymbolFlags.Value) {
      this.type(this.checker.getTypeOfSymbolAtLocation(target, decl), path);
    }
  }

  /** Whether each object type visited holds an `any`; false while it is being visited (recursion). */
  private readonly holdsAny = new Map<ts.Type, boolean>();

  /** True when an `any` is at or below this type (reported once, where it is most precise). */
  private type(type: ts.Type, path: string[]): boolean {
    if (type.flags & ts.TypeFlags.Any) {
      this.found.push(`${show(path)}: any`);
      return true;
    }
    const known = this.holdsAny.get(type);
    if (known !== undefined) return known;
    this.holdsAny.set(type, false);
    let below = false;
    for (const [label, child] of this.children(type)) below = this.type(child, [...path, label]) || below;
    if (!below) {
      const text = this.checker.typeToString(type, undefined, FORMAT);
      if (ANY.test(text)) {
        this.found.push(`${show(path)}: ${text}`);
        below = true;
      }
    }
    this.holdsAny.set(type, below);
    return below;
  }

  private children(type: ts.Type): [string, ts.Type][] {
    const c = this.checker;
    const kids: [string, ts.Type][] = [];
    const args = (list: readonly ts.Type[]) => {
      const of = (type.aliasSymbol ?? type.symbol)?.name ?? 'a generic type';
      for (const [i, t] of list.entries()) kids.push([`type argument ${i + 1} of ${of}`, t]);
    };
    if (type.isUnionOrIntersection()) for (const t of type.types) kids.push(['', t]);
    args(type.aliasTypeArguments ?? []);
    if (type.flags & ts.TypeFlags.Object) {
      const obj = type as ts.ObjectType;
      if (obj.objectFlags & ts.ObjectFlags.Reference) {
        args(c.getTypeArguments(obj as ts.TypeReference));
      }
      // Enter only our own object types (and anonymous ones written in src/).
      const ours = type.symbol?.declarations?.some(inSrc) ?? false;
      if (ours) {
        for (const prop of c.getPropertiesOfType(type)) {
          const decl = prop.declarations?.[0];
          if (!decl || prop.name === 'prototype' || !isPublicMember(decl)) continue;
          kids.push([prop.name, c.getTypeOfSymbolAtLocation(prop, decl)]);
        }
        const signatures = [
          ...c.getSignaturesOfType(type, ts.SignatureKind.Call).map((s) => ['()', s] as const),
          ...c.getSignaturesOfType(type, ts.SignatureKind.Construct).map((s) => ['new()', s] as const),
        ];
        for (const [label, sig] of signatures) {
          if (sig.declaration && !inSrc(sig.declaration)) continue;
          for (const p of sig.parameters) {
            const decl = p.valueDeclaration ?? p.declarations?.[0];
            if (decl) kids.push([`${label} param ${p.name}`, c.getTypeOfSymbolAtLocation(p, decl)]);
          }
          kids.push([`${label} returns`, c.getReturnTypeOfSignature(sig)]);
        }
        for (const info of c.getIndexInfosOfType(type)) kids.push(['[key]', info.type]);
      }
    }
    return kids;
  }
}

describe('public types', () => {
  it('the finder reports an `any` hidden in a member, and skips private members', () => {
    const probe = findAny(PROBE, 'probe');
    expect(probe?.found.sort()).toEqual([
      'probe › K › new() param o › x: any',
      'probe › K › on › () param cb › () param args › type argument 1 of Array: any',
      'probe › Opts › onData › () param x: any',
      'probe › f › () returns › type argument 2 of Record: any',
    ]);
  }, 60_000);

  it('have no `any` in what src/index.ts and the subpath entries export', () => {
    const found: string[] = [];
    let exports = 0;
    for (const entry of ENTRIES) {
      // A missing entry is reported by structure.test.ts.
      const result = findAny(join(SRC, entry), `src/${entry}`);
      found.push(...(result?.found ?? []));
      exports += result?.exports ?? 0;
    }
    expect(exports).toBeGreaterThan(50);
    if (found.length > 0) {
      assert.fail(
        `\`any\` in the public types (${found.length}); give each a real type or \`unknown\` ` +
          '(AsyncGenerator<T> and Generator<T> default their other arguments to any: write all three):\n  ' +
          found.join('\n  '),
      );
    }
  }, 60_000);
});
