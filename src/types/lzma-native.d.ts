/** The parts of lzma-native we use (it ships no types). */
declare module 'lzma-native' {
  import type { Transform } from 'node:stream';
  export function createDecompressor(options?: Record<string, unknown>): Transform;
  export function createCompressor(options?: Record<string, unknown>): Transform;
  export function compress(data: Buffer, options: Record<string, unknown>, cb: (result: Buffer, err?: Error) => void): void;
  export function decompress(data: Buffer, options: Record<string, unknown>, cb: (result: Buffer, err?: Error) => void): void;
  const lzma: {
    createDecompressor: typeof createDecompressor;
    createCompressor: typeof createCompressor;
    compress: typeof compress;
    decompress: typeof decompress;
  };
  export default lzma;
}
