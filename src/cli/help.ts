import { PASSWD_ENV } from './connect-options.js';

/** The variables the connect options read, for helpFooter. */
export const CONNECT_ENV: readonly string[] = [
  `${PASSWD_ENV}  password when neither --passwd nor --passwd-file is given`,
  'VSOA_POS_SERVER  position servers (addr:port,...) for vsoa://name urls',
];

/**
 * The end of a verb's --help: what each exit status means and which environment variables it
 * reads (the global ones are in `vsoa --help`).
 */
export function helpFooter(exit: Readonly<Record<number, string>>, env: readonly string[] = []): string {
  const lines = ['', 'Exit status:'];
  for (const [code, meaning] of Object.entries(exit)) lines.push(`  ${code}  ${meaning}`);
  if (env.length > 0) {
    lines.push('', 'Environment:');
    // "NAME  meaning": the meanings in one column.
    const pairs = env.map((e) => {
      const at = e.indexOf('  ');
      return at < 0 ? [e, ''] : [e.slice(0, at), e.slice(at).trim()];
    });
    const width = Math.max(...pairs.map(([name]) => name?.length ?? 0));
    for (const [name = '', meaning = ''] of pairs)
      lines.push(`  ${name.padEnd(width)}  ${meaning}`.trimEnd());
  }
  return lines.join('\n');
}

/** Exit 2, the same for every verb. */
export const USAGE_EXIT = 'usage error (bad option, argument or file)';
