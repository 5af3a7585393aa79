/**
 * Child process for the experiment resume tests: runs occlusion or
 * invariance with fixed options and kills itself (SIGKILL, no cleanup) right
 * after the first image is committed, or runs to the end. On onnx the
 * forward passes run in 2 worker threads (they die with the process).
 *
 *   node experiment-child.js occlusion|invariance STORE DATA OUT_DIR kill-after-1|finish [cpu|onnx]
 */
import { writeSync } from 'node:fs';
import { runInvariancePipeline } from '../../../pipelines/experiments/invariance.js';
import { runOcclusionPipeline } from '../../../pipelines/experiments/occlusion.js';
import { openStore } from '../../../src/store/open-store.js';

export const EXPERIMENT_IMAGES = { split: 'val', limit: 3 } as const;
export const INVARIANCE_AMOUNTS = { translate: [-4, 0, 4], scale: [1, 1.2], rotate: [0, 90] };

/** The engines the resume tests run on: tfjs cpu in-process, onnx in 2 worker threads. */
export const RESUME_ENGINES = { cpu: { backend: 'cpu', workers: 1 }, onnx: { backend: 'onnx', workers: 2 } } as const;
export type ResumeEngine = keyof typeof RESUME_ENGINES;

/** Runs one experiment with the options the resume test uses in both processes. */
export async function runFixedExperiment(kind: string, store: ReturnType<typeof openStore>, data: string, outDir: string, log: (line: string) => void, force = false, engine: ResumeEngine = 'cpu'): Promise<{ runId: string }> {
  const source = { db: store, data, model: 'zfnet-tiny', seed: 3, ...RESUME_ENGINES[engine], outDir, log, force };
  if (kind === 'occlusion') return runOcclusionPipeline({ ...source, images: { ...EXPERIMENT_IMAGES }, sizePx: 16, stridePx: 16, fill: 'grey', batchSize: 16 });
  return runInvariancePipeline({ ...source, images: { ...EXPERIMENT_IMAGES }, amounts: INVARIANCE_AMOUNTS, batchSize: 8 });
}

async function main(): Promise<void> {
  const [kind, storePath, data, outDir, mode, engine] = process.argv.slice(2) as [string, string, string, string, string, ResumeEngine | undefined];
  const store = openStore(storePath);
  const log = (line: string): void => {
    writeSync(2, `${line}\n`);
    // Both pipelines log "<kind> <image>: ..." right after that image's commit.
    if (mode === 'kill-after-1' && new RegExp(`^${kind} \\d+: `).test(line)) process.kill(process.pid, 'SIGKILL');
  };
  const result = await runFixedExperiment(kind, store, data, outDir, log, false, engine ?? 'cpu');
  writeSync(1, `${result.runId}\n`);
  store.close();
}

if (process.argv[1] !== undefined && import.meta.url.endsWith(process.argv[1].replace(/^.*[\\/]/, ''))) {
  main().catch((error: unknown) => {
    writeSync(2, `${(error as Error).stack}\n`);
    process.exit(1);
  });
}
