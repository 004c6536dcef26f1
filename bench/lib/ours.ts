/**
 * Our library as the ours-sides load it: by default the compiled JavaScript in dist/ (what the
 * npm package ships; bench/run.ts builds it before the first child starts), with
 * `BENCH_OURS=src` the TypeScript in src/ through tsx.
 *
 * Why not src/: tsx compiles with esbuild's keepNames, which wraps every named function it
 * creates in `__name(fn, "name")`, a defineProperty that puts the function's own properties in
 * dictionary mode (a 256 B property array each) and runs once per closure created. The two
 * per-connection callbacks of a FrameConnection alone cost an idle server 0.5 KiB of heap per
 * client (heap snapshots of 1,000 idle clients: 3.38 KiB each from src/, 2.86 from dist/): a
 * handicap that neither the published package nor the official one (plain JavaScript) has.
 */
import type * as ClientModule from '../../src/client/client.js';
import type * as ProtocolModule from '../../src/protocol/index.js';
import type * as ServerModule from '../../src/server/server.js';

export const OURS_FROM = process.env.BENCH_OURS === 'src' ? 'src' : 'dist';

const root = `../../${OURS_FROM}`;

// Each child loads only the modules it uses: the server child loading the client too would add
// to the idle RSS the memory rows measure.
export const loadServer = () => import(`${root}/server/server.js`) as Promise<typeof ServerModule>;
export const loadClient = () => import(`${root}/client/client.js`) as Promise<typeof ClientModule>;
export const loadProtocol = () => import(`${root}/protocol/index.js`) as Promise<typeof ProtocolModule>;
