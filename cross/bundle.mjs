// Bundles src/cli/main.ts into one CommonJS file for a Node.js single executable.
// Usage: node cross/bundle.mjs <out.cjs> [addon.node to inline as base64]
import { readFileSync } from 'node:fs';
import { build } from 'esbuild';

const [out, inlineAddon] = process.argv.slice(2);
if (!out) {
  console.error('usage: node cross/bundle.mjs <out.cjs> [addon.node]');
  process.exit(2);
}
const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));

const define = {
  __VSOA_BUNDLE__: 'true',
  // The package version: the executable has no package.json beside it.
  __VSOA_PACKAGE__: JSON.stringify({ name: pkg.name, version: pkg.version }),
  // CommonJS has no import.meta; modules that resolve files or build a require from it get the
  // executable's own URL (set by the banner) instead of undefined.
  'import.meta.url': '__vsoa_import_meta_url',
};
if (inlineAddon) define.__VSOA_ADDON_BASE64__ = JSON.stringify(readFileSync(inlineAddon).toString('base64'));

const result = await build({
  entryPoints: [new URL('../src/cli/main.ts', import.meta.url).pathname],
  outfile: out,
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  define,
  // WebAssembly (the zstd codec of `vsoa record`) is embedded as bytes: the executable has no
  // node_modules beside it.
  loader: { '.wasm': 'binary' },
  // 'use strict' first: the bundled modules are ESM, strict by definition.
  banner: {
    js: '"use strict";\nvar __vsoa_import_meta_url = require("node:url").pathToFileURL(__filename).href;',
  },
  legalComments: 'none',
  logLevel: 'warning',
  metafile: true,
});
const bytes = Object.values(result.metafile.outputs)[0]?.bytes ?? 0;
console.log(`bundle: ${out} (${(bytes / 1024).toFixed(0)} KiB${inlineAddon ? ', addon inlined' : ''})`);
