/** Why the broker connection failed, as a stable code. */
export type BridgeErrorCode =
  /** The broker refused the credentials (bad username or password, not authorized). */
  | 'ERR_MQTT_AUTH'
  /** TLS failed: the broker's certificate is not trusted or not for this name, or ours was refused. */
  | 'ERR_MQTT_TLS'
  /** Anything else (refused connection, timeout, protocol error). */
  | 'ERR_MQTT_BROKER';

export class BridgeError extends Error {
  override readonly name = 'BridgeError';
  constructor(
    readonly code: BridgeErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** CONNACK codes meaning "wrong credentials": MQTT 5 (134, 135) and 3.1.1 (4, 5). */
const AUTH_CODES = new Set([134, 135, 4, 5]);

const TLS_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'HOSTNAME_MISMATCH',
]);

/** Classifies an error the MQTT client emitted. */
export function brokerError(error: unknown, brokerUrl: string): BridgeError {
  const e = error as { code?: unknown; message?: string };
  const message = e?.message ?? String(error);
  if (typeof e?.code === 'number' && AUTH_CODES.has(e.code)) {
    return new BridgeError(
      'ERR_MQTT_AUTH',
      `${brokerUrl}: the broker refused the credentials (${message}): check --username and the password`,
      { cause: error },
    );
  }
  const code = typeof e?.code === 'string' ? e.code : '';
  if (
    TLS_CODES.has(code) ||
    code.startsWith('ERR_TLS_') ||
    code.startsWith('ERR_SSL_') ||
    (code === 'EPROTO' && /ssl|tls|alert/i.test(message))
  ) {
    return new BridgeError(
      'ERR_MQTT_TLS',
      `${brokerUrl}: TLS failed (${code}: ${message}): check --tls-ca, --tls-cert/--tls-key and the broker's name`,
      { cause: error },
    );
  }
  return new BridgeError('ERR_MQTT_BROKER', `${brokerUrl}: ${message}`, { cause: error });
}
