import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as zlib from 'node:zlib';
import type { DecompressHandlers } from '@mcap/core';
import lz4 from 'lz4js';

/**
 * Chunk compression for MCAP files: zstd and lz4, the two the MCAP spec names and every reader
 * (Foxglove, Lichtblick, the mcap CLI) decodes.
 *
 * - zstd: Node's own zlib when it has it (Node >= 22.15), otherwise the reference C library
 *   compiled to WebAssembly (@foxglove/wasm-zstd). Its .wasm is read from node_modules when
 *   running from sources or dist; in the single executable esbuild embeds it (the `.wasm`
 *   binary loader in cross/bundle.mjs), so nothing is read from disk.
 * - lz4: lz4js (pure JavaScript, LZ4 frame format).
 */

export type Compression = 'zstd' | 'lz4' | 'none';
export const COMPRESSIONS: readonly Compression[] = ['zstd', 'lz4', 'none'];

export type CompressChunk = (chunk: Uint8Array) => { compression: string; compressedData: Uint8Array };

declare const __VSOA_BUNDLE__: boolean | undefined;

interface ZstdModule {
  ready: Promise<unknown>;
  HEAPU8: Uint8Array;
  _malloc(size: number): number;
  _free(pointer: number): void;
  _compressBound(size: number): number;
  _compress(dest: number, destSize: number, src: number, srcSize: number, level: number): number;
  _decompress(dest: number, destSize: number, src: number, srcSize: number): number;
}
type ZstdFactory = (module: { wasmBinary: Uint8Array }) => Promise<ZstdModule>;

interface Zstd {
  compress(data: Uint8Array, level: number): Uint8Array;
  decompress(data: Uint8Array, size: number): Uint8Array;
}

const ZSTD_JS = '@foxglove/wasm-zstd/dist/wasm-zstd.js';
const ZSTD_WASM = '@foxglove/wasm-zstd/dist/wasm-zstd.wasm';

function wasmParts(): { factory: ZstdFactory; wasm: Uint8Array } {
  if (typeof __VSOA_BUNDLE__ === 'boolean' && __VSOA_BUNDLE__) {
    // Literal requires, so that esbuild bundles both (the .wasm as bytes).
    return {
      factory: require('@foxglove/wasm-zstd/dist/wasm-zstd.js') as ZstdFactory,
      wasm: require('@foxglove/wasm-zstd/dist/wasm-zstd.wasm') as Uint8Array,
    };
  }
  const load = createRequire(import.meta.url);
  return { factory: load(ZSTD_JS) as ZstdFactory, wasm: readFileSync(load.resolve(ZSTD_WASM)) };
}

/** Runs `op` with `input` copied into the wasm heap and `outSize` bytes reserved for its output. */
function onHeap(
  m: ZstdModule,
  input: Uint8Array,
  outSize: number,
  op: (dest: number, src: number) => number,
): Uint8Array {
  const src = m._malloc(input.byteLength);
  const dest = m._malloc(outSize);
  try {
    m.HEAPU8.set(input, src);
    const n = op(dest, src);
    if (n < 0) throw new Error('zstd: corrupt or unexpected data');
    return Buffer.from(m.HEAPU8.subarray(dest, dest + n));
  } finally {
    m._free(src);
    m._free(dest);
  }
}

async function wasmZstd(): Promise<Zstd> {
  const { factory, wasm } = wasmParts();
  const m = await factory({ wasmBinary: wasm });
  await m.ready;
  return {
    compress: (data, level) =>
      onHeap(m, data, m._compressBound(data.byteLength), (dest, src) =>
        m._compress(dest, m._compressBound(data.byteLength), src, data.byteLength, level),
      ),
    decompress: (data, size) =>
      onHeap(m, data, size, (dest, src) => m._decompress(dest, size, src, data.byteLength)),
  };
}

interface NodeZstd {
  zstdCompressSync(data: Uint8Array, options?: { params?: Record<number, number> }): Buffer;
  zstdDecompressSync(data: Uint8Array): Buffer;
  constants: Record<string, number>;
}

function nodeZstd(): Zstd | undefined {
  const z = zlib as unknown as Partial<NodeZstd>;
  if (typeof z.zstdCompressSync !== 'function' || typeof z.zstdDecompressSync !== 'function')
    return undefined;
  const levelParam = z.constants?.ZSTD_c_compressionLevel;
  const compress = z.zstdCompressSync;
  const decompress = z.zstdDecompressSync;
  return {
    compress: (data, level) =>
      compress(data, levelParam === undefined ? {} : { params: { [levelParam]: level } }),
    decompress: (data) => decompress(data),
  };
}

let zstdPromise: Promise<Zstd> | undefined;

/** The zstd codec, loaded once (the wasm instance is shared). */
export function loadZstd(): Promise<Zstd> {
  zstdPromise ??= (async () => nodeZstd() ?? (await wasmZstd()))();
  return zstdPromise;
}

/** Which zstd implementation is in use: 'node' or 'wasm'. */
export function zstdImplementation(): 'node' | 'wasm' {
  return nodeZstd() ? 'node' : 'wasm';
}

/** The writer's chunk compressor for `compression` (undefined for none). */
export async function chunkCompressor(
  compression: Compression,
  zstdLevel = 3,
): Promise<CompressChunk | undefined> {
  if (compression === 'none') return undefined;
  if (compression === 'lz4') {
    return (chunk) => ({ compression: 'lz4', compressedData: lz4.compress(chunk) });
  }
  const zstd = await loadZstd();
  return (chunk) => ({ compression: 'zstd', compressedData: zstd.compress(chunk, zstdLevel) });
}

/** Decompressors for the readers (zstd and lz4). */
export async function decompressHandlers(): Promise<DecompressHandlers> {
  const zstd = await loadZstd();
  return {
    zstd: (data, size) => zstd.decompress(data, Number(size)),
    lz4: (data, size) => {
      const out = new Uint8Array(Number(size));
      const n = lz4.decompressFrame(data, out);
      if (n !== out.byteLength) throw new Error('lz4: corrupt chunk');
      return out;
    },
  };
}
