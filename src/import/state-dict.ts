/**
 * A PyTorch state_dict saved as safetensors (`safetensors.torch.save_file(
 * model.state_dict(), path)`), checked against the tensors an architecture
 * needs. Pure: takes decoded safetensors contents, returns float32 weights.
 *
 * - Floating dtypes (F32, F16, BF16, F64) become float32; integer tensors
 *   other than the ignored bookkeeping ones are refused.
 * - BatchNorm's `num_batches_tracked` counters carry no weights and are skipped.
 * - A `module.` prefix on every name (a model saved inside DataParallel) is removed.
 */
import { UsageError } from '../errors.js';
import { readFloat32, type Float32Entry, type SafetensorsContents, type SafetensorsTensor } from '../checkpoint/safetensors.js';

/** Tensors that state_dicts hold but that are not weights. */
const IGNORED_SUFFIXES = Object.freeze(['num_batches_tracked']);
const DATA_PARALLEL_PREFIX = 'module.';

const formatShape = (shape: readonly number[]): string => `[${shape.join(', ')}]`;

/** The float16 bit pattern as a number. */
function halfToFloat(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * 2 ** -14 * (fraction / 1024);
  if (exponent === 0x1f) return fraction === 0 ? sign * Infinity : NaN;
  return sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
}

/**
 * The values of a floating tensor as float32 (a view for aligned F32, else a copy).
 * @throws UsageError naming the tensor and the file when its dtype is not floating point.
 */
export function readFloatTensor(tensor: SafetensorsTensor, name: string, source: string): Float32Array {
  const { bytes, dtype } = tensor;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  switch (dtype) {
    case 'F32':
      return readFloat32(tensor);
    case 'F64':
      return Float32Array.from({ length: bytes.byteLength / 8 }, (_, i) => view.getFloat64(i * 8, true));
    case 'F16':
      return Float32Array.from({ length: bytes.byteLength / 2 }, (_, i) => halfToFloat(view.getUint16(i * 2, true)));
    case 'BF16': {
      const out = new Float32Array(bytes.byteLength / 2);
      const outBits = new Uint32Array(out.buffer);
      for (let i = 0; i < out.length; i++) outBits[i] = view.getUint16(i * 2, true) << 16;
      return out;
    }
    default:
      throw new UsageError(`State dict ${source}: tensor ${name} has dtype ${dtype}; expected a floating-point weight (F32, F16, BF16 or F64)`);
  }
}

function stripDataParallel(names: string[]): (name: string) => string {
  const all = names.length > 0 && names.every((n) => n.startsWith(DATA_PARALLEL_PREFIX));
  return all ? (name) => name.slice(DATA_PARALLEL_PREFIX.length) : (name) => name;
}

const isIgnored = (name: string): boolean => IGNORED_SUFFIXES.some((s) => name === s || name.endsWith(`.${s}`));

/**
 * Reads the weights an architecture needs from a decoded state_dict.
 * @param expected tensor name -> PyTorch shape, in the order the result should have
 * @param architecture names the architecture in error messages
 * @returns name -> float32 tensor, in `expected` order
 * @throws UsageError naming the file and the tensor: a missing tensor, a shape mismatch
 *   (expected and found shape), tensors the architecture does not have, or a non-floating dtype.
 */
export function readStateDict(contents: SafetensorsContents, source: string, expected: ReadonlyMap<string, readonly number[]>, architecture: string): Map<string, Float32Entry> {
  const rename = stripDataParallel([...contents.tensors.keys()]);
  const found = new Map<string, { tensor: SafetensorsTensor; stored: string }>();
  for (const [stored, tensor] of contents.tensors) {
    if (!isIgnored(stored)) found.set(rename(stored), { tensor, stored });
  }
  const unexpected = [...found.keys()].filter((name) => !expected.has(name));
  if (unexpected.length > 0) {
    const shown = unexpected.slice(0, 5).join(', ') + (unexpected.length > 5 ? `, ... (${unexpected.length})` : '');
    throw new UsageError(`State dict ${source} has tensors that ${architecture} does not: ${shown}; is it a ${architecture} state_dict?`);
  }
  const out = new Map<string, Float32Entry>();
  for (const [name, shape] of expected) {
    const entry = found.get(name);
    if (entry === undefined) throw new UsageError(`State dict ${source} has no tensor ${name}, which ${architecture} needs with shape ${formatShape(shape)}`);
    if (entry.tensor.shape.join(',') !== shape.join(',')) {
      throw new UsageError(`State dict ${source}: tensor ${name} has shape ${formatShape(entry.tensor.shape)} but ${architecture} expects ${formatShape(shape)}`);
    }
    out.set(name, { shape: [...shape], data: readFloatTensor(entry.tensor, entry.stored, source) });
  }
  return out;
}
