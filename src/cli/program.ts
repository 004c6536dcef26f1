import { Command, CommanderError, Option } from 'commander';
import type { LevelWithSilent } from 'pino';
import { nativeStatus, suppressNativeWarning } from '../native/addon.js';
import { tuneAllocator } from '../native/allocator.js';
import { getLogger } from '../util/log.js';
import { verbs as registeredVerbs, type VerbModule } from './commands/index.js';
import { ExitCode, UsageError } from './errors.js';
import { installCliLogger, LOG_LEVELS, writeErrorLine } from './logging.js';
import { exitQuietlyWhenStdoutCloses, setQuiet } from './output.js';
import { versionText } from './version.js';

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
  const writeErr = options.writeErr ?? writeErrorLine;
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

/** Exit codes and variables, at the end of `vsoa --help` (each verb adds its own). */
const GLOBAL_HELP = `
Exit status:
  0  done (also when the reader of stdout goes away, as in 'vsoa sub ... | head -1')
  1  runtime failure (connect failed, a non-zero reply status, connection lost)
  2  usage error (bad option or argument, unreadable file, configuration error)

Environment:
  VSOA_LOG_LEVEL     default for --log-level
  VSOA_PASSWD        password for verbs that take --passwd
  VSOA_POS_SERVER    position servers (addr:port,...) asked before /etc/vsoa.pos
  NO_COLOR           no colours in logs on a terminal
  JOURNAL_STREAM     set by systemd: log lines carry a <N> priority prefix for journald
  VSOA_NO_NATIVE=1   do not load the native addon; VSOA_NATIVE_ADDON=path loads that file`;

/** The `vsoa` program with every registered verb. */
export function buildProgram(options: RunOptions = {}): Command {
  const program = new Command('vsoa')
    .description('VSOA for Linux edge boards: servers, clients, the position service and tools')
    .version(
      versionText(),
      '-V, --version',
      'print the version, the Node.js version, the architecture and whether the native addon loaded',
    )
    .addOption(
      new Option('--log-level <level>', 'log level (logs go to stderr)')
        .choices(LOG_LEVELS)
        .env('VSOA_LOG_LEVEL')
        .default('info'),
    )
    .option('-q, --quiet', 'print only results and errors (log level error unless --log-level is given)')
    .showSuggestionAfterError()
    .configureHelp({ showGlobalOptions: true })
    .addHelpText('after', GLOBAL_HELP);

  for (const verb of options.verbs ?? registeredVerbs) verb.register(program);
  // With verbs registered commander prints help when none is given; until then do it here.
  if (program.commands.length === 0) program.action(() => program.help({ error: true }));

  // The logger exists before any action runs; the addon warning is its first line.
  program.hook('preAction', (_program, action) => {
    const opts = action.optsWithGlobals<{ logLevel: LevelWithSilent; quiet?: boolean }>();
    const levelGiven = program.getOptionValueSource('logLevel') !== 'default';
    const level = opts.quiet && !levelGiven ? 'error' : opts.logLevel;
    setQuiet(opts.quiet === true);
    const log = installCliLogger({ level });
    // The CLI reports a missing addon in its log (the first line), not as a process warning.
    suppressNativeWarning();
    const native = nativeStatus();
    if (!native.loaded) {
      log.warn(
        { reason: native.reason, degraded: native.degraded },
        'native addon not loaded; running degraded',
      );
    }
    // Every verb may move large messages; a shell or a unit without the MALLOC_* variables gets them here.
    const allocator = tuneAllocator();
    log.debug(allocator, allocator.applied ? 'allocator tuned (mallopt)' : 'allocator left as is');
  });

  routeErrors(program, options);
  return program;
}

/**
 * Parses `argv` (as in process.argv) and runs the verb. Returns the exit code: 0 done,
 * 2 usage error (one line on stderr saying what to do), 1 runtime failure.
 */
export async function run(argv: readonly string[], options: RunOptions = {}): Promise<number> {
  const writeErr = options.writeErr ?? writeErrorLine;
  exitQuietlyWhenStdoutCloses();
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
