import { nativeStatus } from '../native/addon.js';
import { packageInfo } from '../util/package-info.js';

export { type PackageInfo, packageInfo } from '../util/package-info.js';

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

/** `vsoa --version`: the version line, then whether the native addon loaded and why not. */
export function versionText(): string {
  const native = nativeStatus();
  const addon = native.loaded ? 'native addon: loaded' : `native addon: not loaded (${native.reason})`;
  return `${versionLine()}\n${addon}`;
}
