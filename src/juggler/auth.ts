import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import md5 from 'apache-md5';
import bcrypt from 'bcryptjs';

/*
 * HTTP Basic authentication against an htpasswd file as Apache's `htpasswd` writes it: bcrypt
 * ($2y$/$2a$/$2b$, bcryptjs), {SHA} (SHA-1, node:crypto) and $apr1$ (apache-md5). Plaintext and
 * crypt(3) entries are refused when the file is read. Hashes are compared in constant time.
 * A verified user:password is remembered (as a SHA-256, never the password) so that a page
 * loading ten assets does not pay ten bcrypt verifications.
 */

type Scheme = 'bcrypt' | 'sha' | 'apr1';
interface Entry {
  scheme: Scheme;
  hash: string;
}

/** bcrypt is slow on purpose: this many verifications at once, more get a 401 at once. */
const MAX_CONCURRENT_VERIFY = 8;
const VERIFIED_CACHE_LIMIT = 1024;

export class HtpasswdError extends Error {
  override readonly name = 'HtpasswdError';
}

function schemeOf(hash: string): Scheme | null {
  if (/^\$2[aby]\$\d\d\$/.test(hash)) return 'bcrypt';
  if (hash.startsWith('{SHA}')) return 'sha';
  if (hash.startsWith('$apr1$')) return 'apr1';
  return null;
}

export function parseHtpasswd(text: string, where = 'htpasswd'): Map<string, Entry> {
  const users = new Map<string, Entry>();
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const colon = line.indexOf(':');
    if (colon <= 0) throw new HtpasswdError(`${where}:${index + 1}: not "user:hash"`);
    const hash = line.slice(colon + 1);
    const scheme = schemeOf(hash);
    if (!scheme) {
      throw new HtpasswdError(
        `${where}:${index + 1}: unsupported hash (use htpasswd -B for bcrypt; plaintext and crypt are refused)`,
      );
    }
    users.set(line.slice(0, colon), { scheme, hash });
  });
  return users;
}

function equalText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  // Equal lengths for timingSafeEqual; the length itself is not secret (fixed per scheme).
  return x.length === y.length && timingSafeEqual(x, y);
}

async function verify(entry: Entry, password: string): Promise<boolean> {
  switch (entry.scheme) {
    case 'bcrypt':
      // bcryptjs compares its own output in constant time; $2y$ is $2b$ under another name.
      return bcrypt.compare(password, entry.hash.replace(/^\$2y\$/, '$2b$'));
    case 'sha':
      return equalText(`{SHA}${createHash('sha1').update(password).digest('base64')}`, entry.hash);
    case 'apr1':
      return equalText(md5(password, entry.hash), entry.hash);
  }
}

/** Checks `Authorization: Basic ...` headers against an htpasswd file read once. */
export class BasicAuth {
  private readonly users: Map<string, Entry>;
  private readonly verified = new Set<string>();
  private inFlight = 0;

  constructor(htpasswdFile: string) {
    let text: string;
    try {
      text = readFileSync(htpasswdFile, 'utf8');
    } catch (error) {
      throw new HtpasswdError(
        `cannot read ${htpasswdFile}: ${(error as NodeJS.ErrnoException).code ?? error}`,
      );
    }
    this.users = parseHtpasswd(text, htpasswdFile);
  }

  /** True when the request carries a valid user and password. */
  async check(request: IncomingMessage): Promise<boolean> {
    const header = request.headers.authorization;
    if (typeof header !== 'string') return false;
    const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
    if (!match) return false;
    const decoded = Buffer.from(match[1] as string, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) return false;
    const user = decoded.slice(0, colon);
    const password = decoded.slice(colon + 1);
    const key = createHash('sha256').update(decoded).digest('base64');
    if (this.verified.has(key)) return true;
    const entry = this.users.get(user);
    if (!entry) return false;
    if (this.inFlight >= MAX_CONCURRENT_VERIFY) return false;
    this.inFlight++;
    try {
      if (!(await verify(entry, password))) return false;
    } finally {
      this.inFlight--;
    }
    if (this.verified.size >= VERIFIED_CACHE_LIMIT) this.verified.clear();
    this.verified.add(key);
    return true;
  }
}
