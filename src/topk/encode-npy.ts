/**
 * A minimal `.npy` (NumPy format version 1.0) encoder for float32 arrays in C
 * order, so numpy users can `np.load` the tensors the model saw.
 * Layout: magic `\x93NUMPY`, version bytes 1 0, a little-endian uint16 header
 * length, an ASCII header dict padded with spaces and ending in a newline so
 * that the data starts at a multiple of 64 bytes, then the raw little-endian data.
 */

const MAGIC = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]); // \x93NUMPY
const PREFIX_BYTES = MAGIC.length + 2 + 2;
const ALIGN_BYTES = 64;
/** The platform's float32 byte order is the file's: the data is copied as it is. */
const LITTLE_ENDIAN = new Uint8Array(new Float32Array([1]).buffer)[3] === 0x3f;

/** The header dict text for a C-order float32 array of this shape (numpy's own spelling). */
export function formatNpyHeader(shape: readonly number[]): string {
  const dims = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  return `{'descr': '<f4', 'fortran_order': False, 'shape': ${dims}, }`;
}

/**
 * Encodes a float32 array as `.npy` bytes.
 * @throws RangeError when the shape is not non-negative integers or does not match the data length.
 */
export function encodeNpyFloat32(data: Float32Array, shape: readonly number[]): Buffer {
  if (!shape.every((d) => Number.isInteger(d) && d >= 0)) throw new RangeError(`Expected non-negative integer dimensions for shape but received [${shape.join(', ')}]`);
  const size = shape.reduce((a, b) => a * b, 1);
  if (size !== data.length) throw new RangeError(`Expected ${size} values for shape [${shape.join(', ')}] but received ${data.length}`);
  const dict = formatNpyHeader(shape);
  const unpadded = PREFIX_BYTES + dict.length + 1;
  const headerLength = dict.length + 1 + ((ALIGN_BYTES - (unpadded % ALIGN_BYTES)) % ALIGN_BYTES);
  const header = Buffer.alloc(PREFIX_BYTES + headerLength, 0x20);
  MAGIC.copy(header, 0);
  header[6] = 1;
  header[7] = 0;
  header.writeUInt16LE(headerLength, 8);
  header.write(dict, PREFIX_BYTES, 'latin1');
  header[header.length - 1] = 0x0a;
  const out = Buffer.alloc(header.length + data.length * 4);
  header.copy(out, 0);
  if (LITTLE_ENDIAN) out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), header.length);
  else for (let i = 0; i < data.length; i++) out.writeFloatLE(data[i]!, header.length + i * 4);
  return out;
}
