import type net from 'node:net';
import { Position, type PositionEntry, pos, setLookupCacheTtl } from '../../src/index.js';
import { onCleanup } from './net.js';

/**
 * A position server on 127.0.0.1 that lookups ask first (through pos()), with the lookup cache
 * off so a table change is seen at once; all undone after the test.
 */
export async function positionServer(table: PositionEntry[]): Promise<Position> {
  const position = new Position(null, { table });
  await position.listen(0, '127.0.0.1');
  onCleanup(() => position.close());
  pos('127.0.0.1', (position.address() as net.AddressInfo).port);
  onCleanup(() => pos(null));
  setLookupCacheTtl(0);
  onCleanup(() => setLookupCacheTtl(3000));
  return position;
}
