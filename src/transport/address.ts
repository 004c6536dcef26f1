import dns from 'node:dns';
import net from 'node:net';

/** `::ffff:1.2.3.4` (dual-stack sockets) and `1.2.3.4` name the same peer. */
export function normalizeAddress(addr: string): string {
  return addr.startsWith('::ffff:') && net.isIPv4(addr.slice(7)) ? addr.slice(7) : addr;
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string, family: number) => void;

/** The last IP literal syncIpLookup answered, and its family (never a host name: those go to DNS). */
let lastIp = '';
let lastIpFamily = 0;

/**
 * A dgram `lookup` that answers IP literals synchronously. Node's default goes through
 * dns.lookup, which defers even for an IP, so `send()` would read the buffer a tick later;
 * answering at once lets the quick channel reuse one frame buffer.
 */
export function syncIpLookup(address: string, family: unknown, callback: LookupCallback): void {
  // A quick sender names the same peer for every datagram: validating the literal again each
  // time (net.isIP: a regexp, then isIPv6) was ~3% of a sender's CPU in a profile.
  if (address === lastIp) {
    callback(null, address, lastIpFamily);
    return;
  }
  const ipFamily = net.isIP(address);
  if (ipFamily !== 0) {
    lastIp = address;
    lastIpFamily = ipFamily;
    callback(null, address, ipFamily);
    return;
  }
  dns.lookup(address, { family: family === 6 ? 6 : family === 4 ? 4 : 0 }, (err, addr, fam) =>
    callback(err, addr, fam),
  );
}

/** The any-address of the family of `host`. */
export function anyAddressFor(host: string): string {
  return net.isIPv6(host) ? '::' : '0.0.0.0';
}
