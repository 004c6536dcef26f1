import { Command, CommanderError, Option } from 'commander';
import type { LevelWithSilent } from 'pino';
import { loadNative } from '../transport/native.js';
import { getLogger } from '../util/log.js';
import { verbs as registeredVerbs, type VerbModule } from './commands/index.js';
import { ExitCode, UsageError } from './errors.js';
import { installCliLogger, LOG_LEVELS } from './logging.js';
import { versionLine } from './version.js';

export interface RunOptions {
  /** Where one-line error messages go; stderr by default (tests capture it). */
  writeErr?: (text: string) => void;
  /** Where help and version go; stdout by default. */
  writeOut?: (text: string) => void;
  /** The verbs to register; the list in commands/index.ts by default (tests pass their own). */
  verbs?: readonly VerbModule[];
}

function commandPath(cmd: Command): string {
  const names: string[] = [];
  for (let c: Command | null = cmd; c; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

/** `error: unknown option '--x'\n(Did you mean --y?)` → `unknown option '--x' (Did you mean --y?)` */
function oneLine(message: string): string {
  return message
    .replace(/^error: /, '')
    .replace(/\.\s*$/, '')
    .replace(/\s*\n\s*/g, ' ')
    .trim();
}

/** Commander's own errors (unknown option, missing argument, bad choice) become one line with a hint. */
function routeErrors(cmd: Command, options: RunOptions): void {
  const writeErr = options.writeErr ?? ((s: string) => process.stderr.write(s));
  const writeOut = options.writeOut ?? ((s: string) => process.stdout.write(s));
  const path = commandPath(cmd);
  cmd.exitOverride();
  cmd.configureOutput({
    writeOut,
    writeErr,
    outputError: (message) => writeErr(`${path}: ${oneLine(message)}; see '${path} --help'\n`),
  });
  for (const sub of cmd.commands) routeErrors(sub, options);
}

/** The `vsoa` program with every registered verb. */
export function buildProgram(options: RunOptions = {}): Command {
  const program = new Command('vsoa')
    .description('VSOA for Linux edge boards: servers, clients, the position service and tools')
    .version(versionLine(), '-V, --version', 'print the version, the Node.js version and the architecture')
    .addOption(
      new Option('--log-level <level>', 'log level (logs go to stderr)')
        .choices(LOG_LEVELS)
        .env('VSOA_LOG_LEVEL')
        .default('info'),
    )
    .showSuggestionAfterError()
    .configureHelp({ showGlobalOptions: true });

  for (const verb of options.verbs ?? registeredVerbs) verb.register(program);
  // With verbs registered commander prints help when none is given; until then do it here.
  if (program.commands.length === 0) program.action(() => program.help({ error: true }));

  // The logger exists before any action runs; the addon warning is its first line.
  program.hook('preAction', (_program, action) => {
    const level = action.optsWithGlobals<{ logLevel: LevelWithSilent }>().logLevel;
    installCliLogger({ level });
    loadNative(); // in degraded mode its one warning is the first log line
  });

  routeErrors(program, options);
  return program;
}

/**
 * Parses `argv` (as in process.argv) and runs the verb. Returns the exit code: 0 done,
 * 2 usage error (one line on stderr saying what to do), 1 runtime failure.
 */
export async function run(argv: readonly string[], options: RunOptions = {}): Promise<number> {
  const writeErr = options.writeErr ?? ((s: string) => process.stderr.write(s));
  const program = buildProgram(options);
  let current: Command = program;
  program.hook('preAction', (_program, action) => {
    current = action;
  });
  try {
    await program.parseAsync([...argv]);
    return ExitCode.ok;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Already reported by commander (help, version, or the one-line message from routeErrors).
      return err.exitCode === 0 ? ExitCode.ok : ExitCode.usage;
    }
    const path = commandPath(current);
    if (err instanceof UsageError) {
      writeErr(`${path}: ${err.message}\n`);
      return ExitCode.usage;
    }
    const message = err instanceof Error ? err.message : String(err);
    writeErr(`${path}: ${message}\n`);
    getLogger().debug({ err }, 'command failed');
    return ExitCode.failure;
  }
}
