// The package's bundles, after `tsc -p tsconfig.build.json` wrote the ESM build to dist/:
//   dist/cjs/<entry>.cjs  CommonJS for require('vsoa-edge') and its subpaths on every Node 20.x
//                         (require() of ESM needs 20.19+); subpaths share the core through
//                         require('vsoa-edge'), so classes are the same object across them.
//   dist/cjs/types/       the .d.ts again, read as CommonJS declarations (the require condition)
//   dist/cli/vsoa.cjs     the `vsoa` command with its dependencies inside (commander, pino-pretty,
//                         hdr-histogram-js, the outer rooms' libraries): a library user installs none.
// Usage: node scripts/build-bundles.mjs
import { copyFileSync, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));
const src = join(root, 'src');
const dist = join(root, 'dist');

// import.meta.url has no CommonJS meaning: give modules that resolve files from it (the addon
// loader, the version reader) the bundle's own URL, as cross/bundle.mjs does.
const banner = 'var __vsoa_import_meta_url = require("node:url").pathToFileURL(__filename).href;';
const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  define: { 'import.meta.url': '__vsoa_import_meta_url' },
  legalComments: 'none',
  logLevel: 'warning',
};

/** Subpath entries: "." plus each exports subpath whose source exists. */
const entries = [{ name: 'index', file: join(src, 'index.ts') }];
for (const sub of ['juggler', 'mqtt', 'record', 'files']) {
  const file = join(src, sub, 'index.ts');
  if (existsSync(file)) entries.push({ name: sub, file });
}

const coreIndex = join(src, 'index.ts');
/** In a subpath bundle, the core's public API is the package itself (one copy of the core). */
const shareCore = {
  name: 'share-core',
  setup(b) {
    b.onResolve({ filter: /index\.js$/ }, (args) => {
      if (args.kind === 'entry-point') return undefined;
      const target = join(args.resolveDir, args.path.replace(/\.js$/, '.ts'));
      return target === coreIndex ? { path: 'vsoa-edge', external: true } : undefined;
    });
  },
};

for (const { name, file } of entries) {
  await build({
    ...common,
    entryPoints: [file],
    outfile: join(dist, 'cjs', `${name}.cjs`),
    banner: { js: `"use strict";\n${banner}` },
    packages: 'external', // dependencies and optional peers load from node_modules
    plugins: name === 'index' ? [] : [shareCore],
  });
}

await build({
  ...common,
  entryPoints: [join(src, 'cli', 'main.ts')],
  outfile: join(dist, 'cli', 'vsoa.cjs'),
  banner: { js: `"use strict";\n${banner}` }, // the entry keeps its own #! line
  // A bundle (the MCAP compressors' .wasm inside as bytes), but not a single executable: the
  // addon loader finds build/Release of the installed package (sea-addon.ts).
  define: { ...common.define, __VSOA_BUNDLE__: 'true' },
  loader: { '.wasm': 'binary' },
  // Smaller for every installer of the package; identifiers kept, so error names stay readable.
  minifyWhitespace: true,
  minifySyntax: true,
});

// Types for require(): the same declarations, under a "type": "commonjs" scope, so TypeScript
// (module node16/nodenext) reads them as CommonJS rather than refusing an ESM import (TS1479).
const cjsTypes = join(dist, 'cjs', 'types');
for (const entry of readdirSync(dist, { recursive: true, withFileTypes: true })) {
  const from = join(entry.parentPath, entry.name);
  if (!entry.isFile() || !entry.name.endsWith('.d.ts') || from.startsWith(join(dist, 'cjs'))) continue;
  const to = join(cjsTypes, relative(dist, from));
  mkdirSync(dirname(to), { recursive: true });
  copyFileSync(from, to);
}
writeFileSync(join(dist, 'cjs', 'package.json'), `${JSON.stringify({ type: 'commonjs' })}\n`);

console.log(`bundles: ${entries.map((e) => `dist/cjs/${e.name}.cjs`).join(', ')}, dist/cli/vsoa.cjs`);
