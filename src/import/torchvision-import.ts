/**
 * A torchvision `model.state_dict()` saved as safetensors, plus the
 * architecture's name -> graph and weights. The class count is read from the
 * last Linear's weight (a fine-tuned ResNet-18 with 10 classes imports as
 * such); every other tensor must have torchvision's shape. Pure: bytes in.
 */
import { UsageError } from '../errors.js';
import { decodeSafetensors } from '../checkpoint/safetensors.js';
import type { ModelGraph } from '../graph/model-graph.js';
import { readStateDict } from './state-dict.js';
import { buildTorchvisionGraph, TORCHVISION_ARCHITECTURES, TORCHVISION_NAMES } from './torchvision-architectures.js';

export interface TorchvisionImportOptions {
  /** Names the file in messages (its path). */
  source: string;
  architecture: string;
  inputSizePx?: number;
  /** Narrowed widths (tests); default 1. */
  widthDivisor?: number;
}

export interface ImportedTorchvisionGraph {
  graph: ModelGraph;
  weights: Map<string, Float32Array>;
}

/**
 * Imports a state_dict for a torchvision architecture.
 * @throws UsageError for an unknown architecture (listing the names), a file that is not
 *   safetensors, or a tensor that is missing, extra or of the wrong shape (naming it, with
 *   the expected and found shape).
 */
export function importTorchvisionStateDict(file: Uint8Array, options: TorchvisionImportOptions): ImportedTorchvisionGraph {
  const entry = TORCHVISION_ARCHITECTURES[options.architecture];
  if (entry === undefined) throw new UsageError(`Expected one of ${TORCHVISION_NAMES.join(', ')} for --arch but received ${JSON.stringify(options.architecture)}`);
  const contents = decodeSafetensors(file, options.source);
  const classifier = contents.tensors.get(entry.classifierWeight) ?? contents.tensors.get(`module.${entry.classifierWeight}`);
  const numClasses = classifier?.shape.length === 2 ? classifier.shape[0] : undefined;
  const graph = buildTorchvisionGraph(options.architecture, { numClasses, inputSizePx: options.inputSizePx, widthDivisor: options.widthDivisor });
  const tensors = readStateDict(contents, options.source, new Map(Object.entries(graph.weightShapes)), options.architecture);
  return { graph, weights: new Map([...tensors].map(([name, tensor]) => [name, tensor.data])) };
}
