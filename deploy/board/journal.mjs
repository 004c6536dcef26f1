// Reads `journalctl -o json` lines on stdin and checks that every vsoa log line (pino JSON with a
// "level") is stored at the syslog priority of its level. Prints one summary line; exit 1 when a
// line has the wrong priority or when none of the wanted levels (argv, e.g. warn) is present.
//   node journal.mjs [level...] < journal.json
import { readFileSync } from 'node:fs';

const PRIORITY = { 10: [7], 20: [7], 30: [6], 40: [4], 50: [3], 60: [0, 1, 2] };
const NAMES = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warn', 50: 'error', 60: 'fatal' };
const want = process.argv.slice(2);

const text = (m) => (Array.isArray(m) ? Buffer.from(m).toString('utf8') : String(m ?? ''));
const seen = {};
const wrong = [];
for (const line of readFileSync(0, 'utf8').split('\n')) {
  if (!line.trim()) continue;
  const entry = JSON.parse(line);
  let msg;
  try {
    msg = JSON.parse(text(entry.MESSAGE).replace(/^<\d>/, ''));
  } catch {
    continue; // systemd's own lines, plain text
  }
  if (typeof msg?.level !== 'number') continue; // the robot's NDJSON output on stdout
  const name = NAMES[msg.level] ?? String(msg.level);
  const prio = Number(entry.PRIORITY);
  seen[name] ??= new Set();
  seen[name].add(prio);
  if (!(PRIORITY[msg.level] ?? []).includes(prio)) wrong.push(`${name} "${msg.msg}" at ${prio}`);
}
const summary = Object.entries(seen)
  .map(([name, prios]) => `${name}→${[...prios].join('/')}`)
  .join(' ');
const missing = want.filter((w) => !seen[w]);
console.log(
  `${summary || 'no log lines'}${wrong.length ? `; wrong: ${wrong.slice(0, 3).join(', ')}` : ''}${
    missing.length ? `; no ${missing.join('/')} line` : ''
  }`,
);
process.exit(wrong.length || missing.length ? 1 : 0);
