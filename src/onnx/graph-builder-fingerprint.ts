/**
 * A fingerprint of the code that builds the engine's graphs (this folder,
 * src/graph, src/train-graph, and src/workers, where the onnx engine picks the
 * graph and its options, as compiled), part of every graph cache file name: a cached graph
 * is only reused by the build that wrote it, so a changed builder never runs a
 * stale graph (a stale one once asked onnxruntime for an input the new code no
 * longer feeds). Read once per process, from the files next to this module.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

let fingerprint: string | null = null;

/** 12 hex digits of the sha256 over the compiled builder modules (names and contents, sorted). */
export function graphBuilderFingerprint(): string {
  if (fingerprint !== null) return fingerprint;
  const hash = createHash('sha256');
  for (const folder of ['./', '../graph/', '../train-graph/', '../workers/']) {
    const dir = fileURLToPath(new URL(folder, import.meta.url));
    for (const name of readdirSync(dir).filter((n) => /\.[cm]?js$/.test(n)).sort()) hash.update(`${folder}${name}\n`).update(readFileSync(`${dir}${name}`));
  }
  fingerprint = hash.digest('hex').slice(0, 12);
  return fingerprint;
}
