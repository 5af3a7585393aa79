/**
 * The safetensors container format (https://github.com/huggingface/safetensors),
 * encoded and decoded as pure functions over bytes:
 *
 *   [8 bytes: header length N, unsigned little-endian]
 *   [N bytes: JSON header, space-padded to a multiple of 8]
 *   [tensor data, little-endian, each tensor at header[name].data_offsets relative to here]
 *
 * The header maps each tensor name to `{dtype, shape, data_offsets: [begin, end]}`
 * and may hold `__metadata__`, a map of string to string. This module knows
 * nothing about models; checkpoint-file.ts gives the tensors their meaning.
 */
import { UsageError } from '../errors.js';

/** Bytes per element of the dtypes the format defines. */
export const DTYPE_BYTES: Readonly<Record<string, number>> = Object.freeze({
  BOOL: 1, U8: 1, I8: 1, F8_E5M2: 1, F8_E4M3: 1,
  I16: 2, U16: 2, F16: 2, BF16: 2,
  I32: 4, U32: 4, F32: 4,
  I64: 8, U64: 8, F64: 8,
});

/** One tensor as stored: raw little-endian bytes. */
export interface SafetensorsTensor {
  dtype: string;
  shape: number[];
  /** View into the decoded buffer (no copy); byteLength = product(shape) * DTYPE_BYTES[dtype]. */
  bytes: Uint8Array;
}

export interface SafetensorsContents {
  /** Tensors in file order (ascending data offset). */
  tensors: Map<string, SafetensorsTensor>;
  metadata: Record<string, string>;
}

/** A float32 tensor to encode. */
export interface Float32Entry {
  shape: number[];
  data: Float32Array;
}

const HEADER_ALIGN_BYTES = 8;
/** Refuse absurd header lengths before allocating anything (the Rust reader caps it at 100 MB). */
export const MAX_HEADER_BYTES = 100_000_000;

function elementCount(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/**
 * Encodes float32 tensors and string metadata. Returns the file as chunks
 * (header first, then each tensor's bytes in insertion order), so a caller can
 * stream them to disk without joining a copy of the whole model.
 * @throws RangeError naming the tensor when its data length does not match its shape.
 */
export function encodeSafetensors(tensors: ReadonlyMap<string, Float32Entry>, metadata: Record<string, string> = {}): Uint8Array[] {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header['__metadata__'] = metadata;
  const chunks: Uint8Array[] = [];
  let offset = 0;
  for (const [name, entry] of tensors) {
    if (name === '__metadata__') throw new RangeError('Tensor name __metadata__ is reserved by the safetensors format');
    if (entry.data.length !== elementCount(entry.shape)) {
      throw new RangeError(`Tensor ${name} has ${entry.data.length} values but shape [${entry.shape.join(', ')}]`);
    }
    const bytes = toLittleEndianBytes(entry.data);
    header[name] = { dtype: 'F32', shape: entry.shape, data_offsets: [offset, offset + bytes.byteLength] };
    chunks.push(bytes);
    offset += bytes.byteLength;
  }
  return [encodeHeader(header), ...chunks];
}

/** The 8-byte length prefix plus the JSON header, space-padded so tensor data starts 8-byte aligned. */
function encodeHeader(header: Record<string, unknown>): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const paddedBytes = Math.ceil(json.byteLength / HEADER_ALIGN_BYTES) * HEADER_ALIGN_BYTES;
  const out = new Uint8Array(8 + paddedBytes).fill(0x20, 8);
  new DataView(out.buffer).setBigUint64(0, BigInt(paddedBytes), true);
  out.set(json, 8);
  return out;
}

const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

function toLittleEndianBytes(data: Float32Array): Uint8Array {
  if (LITTLE_ENDIAN_HOST) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const out = new Uint8Array(data.byteLength);
  const view = new DataView(out.buffer);
  data.forEach((v, i) => view.setFloat32(i * 4, v, true));
  return out;
}

/** Where a tensor lies in the file, before its bytes are read: offsets relative to the data start. */
export interface SafetensorsEntry {
  name: string;
  dtype: string;
  shape: number[];
  begin: number;
  end: number;
}

/** A file's header: its metadata, its tensors in ascending data offset, and where the data starts. */
export interface SafetensorsLayout {
  metadata: Record<string, string>;
  entries: SafetensorsEntry[];
  /** Byte offset of the data in the file: 8 + the header length. */
  dataStart: number;
}

/**
 * The header length from the file's first 8 bytes (`prefix` may be shorter when the file is).
 * @throws UsageError "Checkpoint F is truncated: ..." when the file cannot hold it.
 */
export function decodeHeaderLength(prefix: Uint8Array, fileBytes: number, source: string): number {
  if (fileBytes < 8 || prefix.byteLength < 8) {
    throw new UsageError(`Checkpoint ${source} is truncated: ${fileBytes} bytes, less than the 8-byte header length`);
  }
  const claimedBytes = new DataView(prefix.buffer, prefix.byteOffset, 8).getBigUint64(0, true);
  if (claimedBytes > BigInt(Math.min(MAX_HEADER_BYTES, fileBytes - 8))) {
    throw new UsageError(`Checkpoint ${source} is truncated: its header claims ${claimedBytes} bytes but the file has ${fileBytes - 8} after the length`);
  }
  return Number(claimedBytes);
}

/**
 * Parses the JSON header (the bytes after the length) of a file of `fileBytes` bytes.
 * @throws UsageError naming the tensor whose header entry is malformed or runs past the end of the file.
 */
export function decodeSafetensorsLayout(header: Uint8Array, fileBytes: number, source: string): SafetensorsLayout {
  const parsed = parseHeader(header, source);
  const dataStart = 8 + header.byteLength;
  const entries = Object.entries(parsed)
    .filter(([name]) => name !== '__metadata__')
    .map(([name, raw]) => ({ name, ...parseEntry(name, raw, source) }))
    .sort((a, b) => a.begin - b.begin);
  for (const entry of entries) {
    if (entry.end > fileBytes - dataStart) {
      throw new UsageError(`Checkpoint ${source} is truncated: tensor ${entry.name} ends at data byte ${entry.end} but the file holds ${fileBytes - dataStart} data bytes`);
    }
  }
  return { metadata: parseMetadata(parsed['__metadata__'], source), entries, dataStart };
}

/**
 * Decodes a whole safetensors file. `source` (the file path) only names the
 * file in error messages.
 * @throws UsageError "Checkpoint F is truncated: ..." when the header or a tensor runs past the end,
 *   or naming the tensor whose header entry is malformed.
 */
export function decodeSafetensors(file: Uint8Array, source: string): SafetensorsContents {
  const headerBytes = decodeHeaderLength(file, file.byteLength, source);
  const { metadata, entries, dataStart } = decodeSafetensorsLayout(file.subarray(8, 8 + headerBytes), file.byteLength, source);
  const data = file.subarray(dataStart);
  const tensors = new Map<string, SafetensorsTensor>();
  for (const entry of entries) tensors.set(entry.name, { dtype: entry.dtype, shape: entry.shape, bytes: data.subarray(entry.begin, entry.end) });
  return { tensors, metadata };
}

function parseHeader(bytes: Uint8Array, source: string): Record<string, unknown> {
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (error) {
    throw new UsageError(`Checkpoint ${source} is not a safetensors file: its header is not JSON (${(error as Error).message})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) {
    throw new UsageError(`Checkpoint ${source} is not a safetensors file: its header is not a JSON object`);
  }
  return header as Record<string, unknown>;
}

function parseMetadata(raw: unknown, source: string): Record<string, string> {
  if (raw === undefined) return {};
  const ok = typeof raw === 'object' && raw !== null && !Array.isArray(raw) && Object.values(raw).every((v) => typeof v === 'string');
  if (!ok) throw new UsageError(`Checkpoint ${source} has a malformed __metadata__: expected a map of strings`);
  return raw as Record<string, string>;
}

function parseEntry(name: string, raw: unknown, source: string): { dtype: string; shape: number[]; begin: number; end: number } {
  const bad = (why: string): UsageError => new UsageError(`Checkpoint ${source}: tensor ${name} has a malformed header entry: ${why}`);
  const entry = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown } | null;
  if (typeof entry !== 'object' || entry === null) throw bad('not an object');
  const { dtype, shape, data_offsets: offsets } = entry;
  if (typeof dtype !== 'string' || DTYPE_BYTES[dtype] === undefined) throw bad(`unknown dtype ${JSON.stringify(dtype)}`);
  const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
  if (!Array.isArray(shape) || !shape.every(isCount)) throw bad('shape is not a list of non-negative integers');
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isCount) || offsets[0] > offsets[1]) {
    throw bad('data_offsets is not [begin, end]');
  }
  const [begin, end] = offsets as [number, number];
  const expectedBytes = elementCount(shape) * DTYPE_BYTES[dtype]!;
  if (end - begin !== expectedBytes) throw bad(`data_offsets span ${end - begin} bytes but ${dtype} [${shape.join(', ')}] needs ${expectedBytes}`);
  return { dtype, shape, begin, end };
}

/**
 * The values of an F32 tensor. Returns a view when the bytes are 4-byte
 * aligned on a little-endian host, else a copy; either way treat it as read-only.
 * @throws RangeError when the tensor's dtype is not F32.
 */
export function readFloat32(tensor: SafetensorsTensor): Float32Array {
  if (tensor.dtype !== 'F32') throw new RangeError(`Expected dtype F32 but received ${tensor.dtype}`);
  const { bytes } = tensor;
  if (LITTLE_ENDIAN_HOST && bytes.byteOffset % 4 === 0) {
    return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
  }
  const out = new Float32Array(bytes.byteLength / 4);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(i * 4, true);
  return out;
}
