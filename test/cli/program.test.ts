import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import type { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/cli/errors.js';
import { cliLogger } from '../../src/cli/logging.js';
import { run } from '../../src/cli/program.js';
import { packageInfo, targetArch, versionLine, versionText } from '../../src/cli/version.js';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
  name: string;
  version: string;
  bin: Record<string, string>;
};

/** Runs the program in-process, capturing both streams. */
async function cli(args: string[], verbs?: { register(program: Command): void }[]) {
  let out = '';
  let err = '';
  const code = await run(['node', 'vsoa', ...args], {
    writeOut: (s) => {
      out += s;
    },
    writeErr: (s) => {
      err += s;
    },
    ...(verbs ? { verbs } : {}),
  });
  return { code, out, err };
}

/** A verb for the tests: `echo <word>` prints, fails or misuses on demand. */
function echoVerb(log: string[]) {
  return {
    register(program: Command) {
      program
        .command('echo')
        .description('test verb')
        .argument('<word>')
        .option('--fail <kind>', 'usage | runtime')
        .action(async (word: string, opts: { fail?: string }) => {
          if (opts.fail === 'usage') throw new UsageError(`bad word '${word}': use letters only`);
          if (opts.fail === 'runtime') throw new Error('connection refused');
          log.push(word, cliLogger().level);
        });
    },
  };
}

describe('version', () => {
  it('names the package, the Node.js version and the architecture', () => {
    expect(packageInfo()).toEqual({ name: pkg.name, version: pkg.version });
    expect(versionLine()).toBe(`${pkg.name} ${pkg.version} (node ${process.version}, linux-${process.arch})`);
    expect(targetArch()).toBe(process.arch); // the host is not 32-bit ARM
  });

  it('--version prints it and exits 0', async () => {
    const r = await cli(['--version']);
    expect(r).toEqual({ code: 0, out: `${versionText()}\n`, err: '' });
    // The second line says whether the native addon loaded (built here by the install script).
    expect(r.out.split('\n')[1]).toBe('native addon: loaded');
  });
});

describe('program', () => {
  it('--help lists registered verbs and the global --log-level', async () => {
    const r = await cli(['--help'], [echoVerb([])]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/Usage: vsoa/);
    expect(r.out).toMatch(/echo \[options\] <word>/);
    expect(r.out).toMatch(/--log-level <level>/);
  });

  it('runs a verb, with the log level installed before the action', async () => {
    const log: string[] = [];
    const r = await cli(['--log-level', 'silent', 'echo', 'hello'], [echoVerb(log)]);
    expect(r).toEqual({ code: 0, out: '', err: '' });
    expect(log).toEqual(['hello', 'silent']);
    // The global option is also accepted after the verb.
    await cli(['echo', 'again', '--log-level', 'error'], [echoVerb(log)]);
    expect(log.slice(2)).toEqual(['again', 'error']);
  });

  it('an unknown option is a usage error: one line naming the help to read, exit 2', async () => {
    const r = await cli(['--log-level', 'silent', 'echo', 'x', '--bogus'], [echoVerb([])]);
    expect(r.code).toBe(2);
    expect(r.err).toBe("vsoa echo: unknown option '--bogus'; see 'vsoa echo --help'\n");
    expect(r.out).toBe('');
  });

  it('a missing argument, an unknown verb and a bad log level are usage errors', async () => {
    const missing = await cli(['echo'], [echoVerb([])]);
    expect(missing.code).toBe(2);
    expect(missing.err).toBe("vsoa echo: missing required argument 'word'; see 'vsoa echo --help'\n");

    const unknown = await cli(['ecko'], [echoVerb([])]);
    expect(unknown.code).toBe(2);
    expect(unknown.err).toMatch(
      /^vsoa: unknown command 'ecko' \(Did you mean echo\?\); see 'vsoa --help'\n$/,
    );

    const level = await cli(['--log-level', 'loud', 'echo', 'x'], [echoVerb([])]);
    expect(level.code).toBe(2);
    expect(level.err.split('\n')).toHaveLength(2); // one line
    expect(level.err).toMatch(/Allowed choices are fatal, error, warn/);
  });

  it('no verb prints help on stderr and exits 2', async () => {
    const r = await cli([], [echoVerb([])]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/Usage: vsoa/);
  });

  it('UsageError from a verb: its message on one line, no stack, exit 2', async () => {
    const r = await cli(['--log-level', 'silent', 'echo', 'x1', '--fail', 'usage'], [echoVerb([])]);
    expect(r).toEqual({ code: 2, out: '', err: "vsoa echo: bad word 'x1': use letters only\n" });
  });

  it('any other error from a verb is a runtime failure: one line, exit 1', async () => {
    const r = await cli(['--log-level', 'silent', 'echo', 'x', '--fail', 'runtime'], [echoVerb([])]);
    expect(r).toEqual({ code: 1, out: '', err: 'vsoa echo: connection refused\n' });
  });
});

describe('the entry point', () => {
  const exec = promisify(execFile);
  const tsx = new URL('../../node_modules/.bin/tsx', import.meta.url).pathname;
  const main = new URL('../../src/cli/main.ts', import.meta.url).pathname;

  it('is the package bin, keeps its shebang and exits with the codes of run()', async () => {
    expect(pkg.bin.vsoa).toBe('./dist/cli/vsoa.cjs'); // the bundle (scripts/build-bundles.mjs)
    expect(readFileSync(main, 'utf8').startsWith('#!/usr/bin/env node\n')).toBe(true);

    const ok = await exec(tsx, [main, '--version']);
    expect(ok.stdout).toBe(`${versionText()}\n`);

    const bad = await exec(tsx, [main, '--bogus']).then(
      () => expect.fail('exit 0'),
      (e: { code: number; stderr: string }) => e,
    );
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe("vsoa: unknown option '--bogus'; see 'vsoa --help'\n");
  });
});
