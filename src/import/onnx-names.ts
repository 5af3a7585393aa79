/**
 * The model's own module names, read from ONNX node names, so an imported
 * layer is called what its author called it:
 *
 * - torch.onnx (1.13+) scopes: `/layer1/layer1.0/conv1/Conv` -> `layer1.0.conv1`,
 *   `/features/features.0/Conv` -> `features.0`,
 *   `/layer2/layer2.0/downsample/downsample.0/Conv` -> `layer2.0.downsample.0`,
 *   `/layer1/layer1.0/relu_1/Relu` -> `layer1.0.relu_1` (a module's second call),
 *   `/Flatten` -> `flatten`;
 * - older torch.onnx names (`Conv_0`) -> the weight initializer's module when it
 *   is named like PyTorch's (`features.0.weight` -> `features.0`), else the name;
 * - tf2onnx names (`model/block1_conv1/Conv2D`) -> the Keras layer, `block1_conv1`;
 * - no name -> `<optype>_<index>`.
 * A name already taken gets `.<optype>` appended (a Keras conv's fused Relu
 * becomes `block1_conv1.relu`), then `_2`, `_3`.
 */
import type { OnnxNode } from '../onnx/onnx-format.js';

/** Joins torch scope segments: a Sequential child (`layer1.0` under `layer1`) replaces its parent. */
function joinTorchScope(segments: readonly string[]): string {
  const path: string[] = [];
  for (const segment of segments) {
    const last = path[path.length - 1];
    if (last !== undefined && segment.startsWith(`${last}.`)) path[path.length - 1] = segment;
    else path.push(segment);
  }
  return path.join('.').replace(/\.{2,}/g, '.');
}

/** The module name of the weight input when it looks like a PyTorch parameter name. */
function weightModule(node: OnnxNode): string | null {
  const weight = node.input?.[1];
  if (weight === undefined || weight.startsWith('onnx::')) return null;
  const m = /^([A-Za-z_][\w.]*)\.weight$/.exec(weight);
  return m === null ? null : m[1]!;
}

/** The module name a node's own name gives (before making it unique). */
export function moduleNameOf(node: OnnxNode, index: number): string {
  const name = node.name ?? '';
  const fallback = `${node.opType.toLowerCase()}_${index}`;
  if (name.startsWith('/')) {
    const segments = name.split('/').filter((s) => s !== '');
    if (segments.length === 0) return fallback;
    if (segments.length === 1) return segments[0]!.toLowerCase();
    return joinTorchScope(segments.slice(0, -1));
  }
  const fromWeight = weightModule(node);
  if (fromWeight !== null) return fromWeight;
  if (name.includes('/')) {
    const segments = name.split('/').filter((s) => s !== '');
    return segments.length >= 2 ? segments[segments.length - 2]! : segments[0] ?? fallback;
  }
  return name === '' ? fallback : name;
}

/** Hands out unique node names (the graph input's name is reserved). */
export function createNameAllocator(reserved: readonly string[]): (base: string, opType: string) => string {
  const taken = new Set(reserved);
  return (base, opType) => {
    let name = base;
    if (taken.has(name)) name = `${base}.${opType.toLowerCase()}`;
    for (let k = 2; taken.has(name); k++) name = `${base}.${opType.toLowerCase()}_${k}`;
    taken.add(name);
    return name;
  };
}
