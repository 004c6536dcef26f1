import { readFileSync } from 'node:fs';

/**
 * Set by the bundlers through esbuild `define` (`{"name":..,"version":..}`): the single
 * executable has no package.json beside it. Undefined when running from source or dist.
 */
declare const __VSOA_PACKAGE__: { name: string; version: string } | undefined;

export interface PackageInfo {
  name: string;
  version: string;
}

let cached: PackageInfo | undefined;

/** This package's name and version (the recorder writes them into its files, the CLI prints them). */
export function packageInfo(): PackageInfo {
  if (cached) return cached;
  if (typeof __VSOA_PACKAGE__ === 'object' && __VSOA_PACKAGE__ !== null) {
    cached = { name: __VSOA_PACKAGE__.name, version: __VSOA_PACKAGE__.version };
  } else {
    // src/util/package-info.ts, dist/util/package-info.js and the bundles in dist/cjs/ and
    // dist/cli/ all sit two levels below package.json.
    const json = JSON.parse(
      readFileSync(new URL('../../package.json', import.meta.url), 'utf8'),
    ) as PackageInfo;
    cached = { name: json.name, version: json.version };
  }
  return cached;
}
