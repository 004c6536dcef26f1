import type tls from 'node:tls';

/**
 * Node's certificate object plus the seed's fields: `version` (1–3, as X.509 counts),
 * `notBefore` and `notAfter` (the same text as `valid_from` and `valid_to`). `subject`,
 * `issuer` and `serialNumber` are Node's own.
 */
export type PeerCertificate = tls.PeerCertificate & {
  version: number;
  notBefore: string;
  notAfter: string;
};

/** The X.509 version from DER: the optional `[0] EXPLICIT INTEGER` opening the TBSCertificate (absent: v1). */
export function certificateVersion(der: Uint8Array): number {
  let at = 0;
  /** Skips one tag and length; returns the content length, or -1 when malformed. */
  const header = (): number => {
    at++; // tag
    const first = der[at++];
    if (first === undefined) return -1;
    if (first < 0x80) return first;
    const n = first & 0x7f;
    if (n === 0 || n > 4) return -1;
    let len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + (der[at++] ?? 0);
    return len;
  };
  if (der[0] !== 0x30 || header() < 0) return 1; // Certificate SEQUENCE
  if (der[at] !== 0x30 || header() < 0) return 1; // TBSCertificate SEQUENCE
  if (der[at] !== 0xa0 || header() < 0) return 1; // no [0]: version 1
  if (der[at] !== 0x02 || header() !== 1) return 1; // INTEGER of one byte
  const v = der[at];
  return v === undefined ? 1 : v + 1;
}

/**
 * The peer certificate of a TLS socket (seed: getpeercert): the object, or its DER bytes with
 * `binary`; null on a plain socket or when the peer sent no certificate.
 */
export function peerCertificate(socket: unknown, binary: boolean): PeerCertificate | Buffer | null {
  const s = socket as Partial<tls.TLSSocket> | undefined;
  if (s?.encrypted !== true || typeof s.getPeerCertificate !== 'function') return null;
  // Not the detailed form: its issuer chain is circular for a self-signed root.
  const cert = s.getPeerCertificate(false) as tls.PeerCertificate | null;
  if (!cert?.raw) return null;
  if (binary) return cert.raw;
  return Object.assign(cert, {
    version: certificateVersion(cert.raw),
    notBefore: cert.valid_from,
    notAfter: cert.valid_to,
  });
}
