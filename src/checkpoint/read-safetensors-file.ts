/**
 * Reads a safetensors file in one pass of fixed-size chunks: the SHA-256 of
 * every byte, the header, and the bytes of the tensors the caller keeps. A
 * tensor that is not kept is never copied, so a caller that needs the conv
 * layers of full zfnet (15 MB) does not touch the 235 MB of its fc layers in
 * memory (on a small VM first-touching 250 MB costs about a second).
 */
import { createHash } from 'node:crypto';
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { UsageError } from '../errors.js';
import { decodeHeaderLength, decodeSafetensorsLayout, type SafetensorsLayout, type SafetensorsTensor } from './safetensors.js';

/** Bytes read per call (the only buffer the pass reuses). */
const CHUNK_BYTES = 8 << 20;

export interface SafetensorsFile {
  layout: SafetensorsLayout;
  /** The kept tensors, each in its own 8-byte aligned buffer. */
  kept: Map<string, SafetensorsTensor>;
  sha256: string;
  sizeBytes: number;
}

/**
 * @param keep which tensors (by name) to keep in memory
 * @param chunkBytes bytes per read (tests use small ones so tensors span chunks)
 * @throws UsageError naming the file when it is missing, not a file, unreadable or truncated
 */
export function readSafetensorsFile(path: string, keep: (name: string) => boolean, chunkBytes = CHUNK_BYTES): SafetensorsFile {
  const fd = openFile(path);
  try {
    const sizeBytes = fstatSync(fd).size;
    const hash = createHash('sha256');
    const prefix = readExactly(fd, path, 0, Math.min(8, sizeBytes));
    const header = readExactly(fd, path, 8, decodeHeaderLength(prefix, sizeBytes, path));
    const layout = decodeSafetensorsLayout(header, sizeBytes, path);
    hash.update(prefix).update(header);
    const wanted = layout.entries.filter((e) => keep(e.name)).map((e) => ({ entry: e, bytes: new Uint8Array(e.end - e.begin) }));
    const chunk = new Uint8Array(Math.min(chunkBytes, Math.max(1, sizeBytes - layout.dataStart)));
    let first = 0; // wanted tensors before this one are complete
    for (let at = layout.dataStart; at < sizeBytes;) {
      const n = readInto(fd, path, chunk, at, Math.min(chunk.byteLength, sizeBytes - at));
      const view = chunk.subarray(0, n);
      hash.update(view);
      const [from, to] = [at - layout.dataStart, at - layout.dataStart + n]; // data offsets this chunk covers
      while (first < wanted.length && wanted[first]!.entry.end <= from) first++;
      for (let i = first; i < wanted.length && wanted[i]!.entry.begin < to; i++) {
        const { entry, bytes } = wanted[i]!;
        const [lo, hi] = [Math.max(from, entry.begin), Math.min(to, entry.end)];
        if (hi > lo) bytes.set(view.subarray(lo - from, hi - from), lo - entry.begin);
      }
      at += n;
    }
    const kept = new Map(wanted.map(({ entry, bytes }) => [entry.name, { dtype: entry.dtype, shape: entry.shape, bytes }]));
    return { layout, kept, sha256: hash.digest('hex'), sizeBytes };
  } finally {
    closeSync(fd);
  }
}

function openFile(path: string): number {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    if (!fstatSync(fd).isFile()) throw new UsageError(`Checkpoint ${path} is not a file`);
    return fd;
  } catch (error) {
    if (fd !== undefined) closeSync(fd);
    if (error instanceof UsageError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EISDIR') throw new UsageError(`Checkpoint ${path} is not a file`);
    throw new UsageError(code === 'ENOENT' ? `Checkpoint ${path} does not exist` : `Cannot read checkpoint ${path}: ${(error as Error).message}`);
  }
}

function readExactly(fd: number, path: string, position: number, length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let done = 0; done < length;) done += readInto(fd, path, out.subarray(done), position + done, length - done);
  return out;
}

/** Reads up to `length` bytes at `position`; at least one. @throws UsageError when the file ends early or the read fails */
function readInto(fd: number, path: string, into: Uint8Array, position: number, length: number): number {
  let n: number;
  try {
    n = readSync(fd, into, 0, length, position);
  } catch (error) {
    throw new UsageError(`Cannot read checkpoint ${path}: ${(error as Error).message}`);
  }
  if (n === 0 && length > 0) throw new UsageError(`Checkpoint ${path} is truncated: it ended at byte ${position} while being read`);
  return n;
}
