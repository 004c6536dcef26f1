import { readFileSync } from 'node:fs';

/**
 * Set by cross/build.sh through esbuild `define` (`{"name":..,"version":..}`): the bundled
 * executable has no package.json beside it. Undefined when running from source or dist.
 */
declare const __VSOA_PACKAGE__: { name: string; version: string } | undefined;

export interface PackageInfo {
  name: string;
  version: string;
}

let cached: PackageInfo | undefined;

export function packageInfo(): PackageInfo {
  if (cached) return cached;
  if (typeof __VSOA_PACKAGE__ === 'object' && __VSOA_PACKAGE__ !== null) {
    cached = { name: __VSOA_PACKAGE__.name, version: __VSOA_PACKAGE__.version };
  } else {
    // src/cli/version.ts and dist/cli/version.js both sit two levels below package.json.
    const json = JSON.parse(
      readFileSync(new URL('../../package.json', import.meta.url), 'utf8'),
    ) as PackageInfo;
    cached = { name: json.name, version: json.version };
  }
  return cached;
}

/**
 * The architecture of the running Node.js binary as Node's release files name it: `arm` is
 * reported as `armv7l` (or `armv6l`) from the build config, because uname on a 64-bit ARM kernel
 * running 32-bit user space would say aarch64.
 */
export function targetArch(): string {
  if (process.arch !== 'arm') return process.arch;
  const variables = process.config.variables as unknown as Record<string, unknown>;
  const armVersion = variables.arm_version;
  return typeof armVersion === 'string' && /^\d+$/.test(armVersion) ? `armv${armVersion}l` : 'arm';
}

/** `vsoa-edge 0.1.0 (node v20.11.0, linux-armv7l)` */
export function versionLine(): string {
  const { name, version } = packageInfo();
  return `${name} ${version} (node ${process.version}, ${process.platform}-${targetArch()})`;
}
