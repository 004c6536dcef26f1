import type { Command } from 'commander';
import * as bench from './bench.js';
import * as bridge from './bridge.js';
import * as call from './call.js';
import * as cp from './cp.js';
import * as demo from './demo.js';
import * as gateway from './gateway.js';
import * as lookup from './lookup.js';
import * as ls from './ls.js';
import * as ping from './ping.js';
import * as position from './position.js';
import * as pub from './pub.js';
import * as record from './record.js';
import * as replay from './replay.js';
import * as robot from './robot.js';
import * as serve from './serve.js';
import * as stat from './stat.js';
import * as sub from './sub.js';

/**
 * The registration point for `vsoa` verbs. Each verb is one file `src/cli/commands/<verb>.ts`
 * exporting `register(program: Command): void`, which adds its subcommand with
 * `program.command('<verb>')`, its options and an async action. Add it to this list (static
 * imports: the single executable is one bundle, nothing is discovered at run time). Order here
 * is the order in `vsoa --help`.
 *
 * In an action: throw `UsageError` (../errors.js) for a mistake the user can fix (exit 2),
 * anything else for a runtime failure (exit 1); get the logger with `getLogger()` from
 * ../../util/log.js (installed before any action runs); print results on stdout.
 */
export interface VerbModule {
  register(program: Command): void;
}

export const verbs: readonly VerbModule[] = [
  demo,
  serve,
  call,
  sub,
  pub,
  ping,
  lookup,
  position,
  robot,
  gateway,
  bridge,
  record,
  replay,
  stat,
  cp,
  ls,
  bench,
];
