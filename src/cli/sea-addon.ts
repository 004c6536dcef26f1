import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { markNativeUnavailable } from '../native/addon.js';

/**
 * The single executable carries the native addon (a shared object) inside itself, but
 * `dlopen` needs a real file. Before the library loads the addon, this module writes it to a
 * private directory on an exec-capable mount and points the loader at it with
 * `VSOA_NATIVE_ADDON`. It does nothing when running from source or dist (not bundled), or when
 * the user already set `VSOA_NATIVE_ADDON` / `VSOA_NO_NATIVE`.
 */

/** Set by cross/build.sh (esbuild `define`): true in the bundle. */
declare const __VSOA_BUNDLE__: boolean | undefined;
/**
 * Set by cross/build.sh for targets whose Node.js predates SEA assets (20.11 on armv7l): the
 * addon inlined as base64. Other targets carry it as the SEA asset ADDON_ASSET_KEY.
 */
declare const __VSOA_ADDON_BASE64__: string | undefined;

export const ADDON_ASSET_KEY = 'vsoa_native.node';

export type AddonSetup =
  | { kind: 'not-bundled' }
  | { kind: 'preset' }
  | { kind: 'extracted'; path: string }
  | { kind: 'unavailable'; reason: string };

export interface MountEntry {
  mountPoint: string;
  options: readonly string[];
}

/** Whether this process is a Node single executable (false on Node < 20.12, which has no node:sea). */
export function isSingleExecutable(): boolean {
  if (typeof require !== 'function') return false;
  try {
    return (require('node:sea') as typeof import('node:sea')).isSea();
  } catch {
    return false;
  }
}

/** The addon bytes this executable carries, if any. */
export function readEmbeddedAddon(): Uint8Array | undefined {
  if (typeof __VSOA_ADDON_BASE64__ === 'string' && __VSOA_ADDON_BASE64__.length > 0) {
    return Buffer.from(__VSOA_ADDON_BASE64__, 'base64');
  }
  if (typeof require !== 'function') return undefined;
  try {
    const sea = require('node:sea') as typeof import('node:sea');
    if (!sea.isSea()) return undefined;
    return new Uint8Array(sea.getAsset(ADDON_ASSET_KEY));
  } catch {
    // No node:sea (Node < 20.12) or no such asset: the build embedded no addon.
    return undefined;
  }
}

function unescapeMountField(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(Number.parseInt(octal, 8)));
}

/** Parses /proc/self/mountinfo (field 5 is the mount point, field 6 the per-mount options). */
export function parseMountinfo(text: string): MountEntry[] {
  const entries: MountEntry[] = [];
  for (const line of text.split('\n')) {
    const fields = line.split(' ');
    if (fields.length < 6) continue;
    entries.push({ mountPoint: unescapeMountField(fields[4]!), options: fields[5]!.split(',') });
  }
  return entries;
}

/** Whether `dir` (an existing, resolved path) lies on a mount with `noexec`: the last matching mount wins. */
export function isOnNoexecMount(dir: string, mounts: readonly MountEntry[]): boolean {
  let best: MountEntry | undefined;
  for (const m of mounts) {
    const under = m.mountPoint === '/' || dir === m.mountPoint || dir.startsWith(`${m.mountPoint}/`);
    if (under && (!best || m.mountPoint.length >= best.mountPoint.length)) best = m;
  }
  return best?.options.includes('noexec') ?? false;
}

function readMounts(): MountEntry[] {
  try {
    return parseMountinfo(readFileSync('/proc/self/mountinfo', 'utf8'));
  } catch {
    return []; // no /proc: assume exec is allowed
  }
}

/**
 * Writes `bytes` as `name` in `dir` atomically (another instance may share the directory and
 * have the file mapped); a file already there with the same bytes is kept.
 */
function writeAtomically(dir: string, name: string, bytes: Uint8Array): string {
  const path = join(dir, name);
  if (existsSync(path) && readFileSync(path).equals(bytes)) return path;
  const temp = join(dir, `.${name}.${process.pid}.tmp`);
  writeFileSync(temp, bytes, { mode: 0o700 });
  renameSync(temp, path);
  return path;
}

export interface ExtractOptions {
  env?: NodeJS.ProcessEnv;
  mounts?: readonly MountEntry[];
  tmp?: string;
  /** Removes fresh temporary directories at exit; tests pass false. */
  cleanupAtExit?: boolean;
}

/**
 * Writes the addon to the first usable private directory: systemd's `$RUNTIME_DIRECTORY`
 * (per-service, removed by systemd), then `$CACHE_DIRECTORY` (per-service, on disk: the file
 * is reused across restarts), else a fresh mode-0700 directory under the tmp dir (removed at
 * exit). Directories on noexec mounts are skipped (Debian mounts /run noexec).
 */
export function extractAddon(bytes: Uint8Array, options: ExtractOptions = {}): AddonSetup {
  const env = options.env ?? process.env;
  const mounts = options.mounts ?? readMounts();
  const name = `vsoa_native-${createHash('sha256').update(bytes).digest('hex').slice(0, 16)}.node`;
  const problems: string[] = [];

  // systemd lists several directories with ':' when the unit names several; the first is ours.
  for (const serviceDir of [env.RUNTIME_DIRECTORY, env.CACHE_DIRECTORY]) {
    const first = serviceDir?.split(':')[0];
    if (!first) continue;
    try {
      const dir = realpathSync(first);
      if (isOnNoexecMount(dir, mounts)) problems.push(`${dir} is on a noexec mount`);
      else return { kind: 'extracted', path: writeAtomically(dir, name, bytes) };
    } catch (err) {
      problems.push(`${first}: ${(err as Error).message}`);
    }
  }

  const tmp = options.tmp ?? tmpdir();
  let fresh: string | undefined;
  try {
    const base = realpathSync(tmp);
    if (isOnNoexecMount(base, mounts)) {
      problems.push(`${base} is on a noexec mount`);
    } else {
      fresh = mkdtempSync(join(base, 'vsoa-')); // mode 0700
      const created = fresh;
      if (options.cleanupAtExit !== false) {
        process.once('exit', () => rmSync(created, { recursive: true, force: true }));
      }
      return { kind: 'extracted', path: writeAtomically(fresh, name, bytes) };
    }
  } catch (err) {
    if (fresh) rmSync(fresh, { recursive: true, force: true });
    problems.push(`${tmp}: ${(err as Error).message}`);
  }
  return { kind: 'unavailable', reason: `no exec-capable private directory (${problems.join('; ')})` };
}

/** Extracts the embedded addon and tells the library's loader where it is (or to do without). */
export function setupEmbeddedAddon(
  env: NodeJS.ProcessEnv = process.env,
  singleExecutable: boolean = isSingleExecutable(),
): AddonSetup {
  if (env.VSOA_NATIVE_ADDON || env.VSOA_NO_NATIVE === '1') return { kind: 'preset' };
  const bytes = readEmbeddedAddon();
  // The npm package's bundle (dist/cli/vsoa.cjs) is no single executable: the loader finds the
  // addon the package's install script built.
  if (!bytes && !singleExecutable) return { kind: 'not-bundled' };
  const setup: AddonSetup = bytes
    ? extractAddon(bytes, { env })
    : { kind: 'unavailable', reason: 'this executable was built without the native addon' };
  if (setup.kind === 'extracted') env.VSOA_NATIVE_ADDON = setup.path;
  else if (setup.kind === 'unavailable') markNativeUnavailable(setup.reason); // the loader's one warning says why
  return setup;
}

/** What happened at start-up (the library's loader warns once if the addon is missing). */
export const addonSetup: AddonSetup =
  typeof __VSOA_BUNDLE__ === 'boolean' && __VSOA_BUNDLE__ ? setupEmbeddedAddon() : { kind: 'not-bundled' };
