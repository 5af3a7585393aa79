/**
 * The benchmark store of `npm run bench -- serve`: an ImageNet-sized val
 * split (50,000 indexed images of 1,000 named classes) and top-activations
 * runs of full zfnet (1,376 units of conv1-5, top-9 each), written directly
 * as synthetic rows (seeded), through the project's schema. No image files:
 * the pages measured read only the store.
 */
import { createRng } from '../src/data/seeded-rng.js';
import { buildModelConfig } from '../src/model/architectures.js';
import { computeGeometry } from '../src/model/geometry.js';
import { openStore } from '../src/store/open-store.js';

export const BENCH_IMAGES = 50_000;
export const BENCH_CLASSES = 1000;
const VAL_BASE_ID = 200_000_000;

export interface BenchStore { runIds: string[]; imageIds: number[]; units: Array<{ layer: number; units: number }> }

/** Writes `runs` runs (epochs 1..runs of one model) into a fresh store at `path`. */
export function writeBenchStore(path: string, runs: number): BenchStore {
  const db = openStore(path);
  const rng = createRng(7);
  const config = buildModelConfig('zfnet', { numClasses: BENCH_CLASSES });
  const layers = computeGeometry(config).filter((g) => /^conv\d$/.test(g.name)).map((g) => ({ layer: Number(g.name.slice(4)), units: g.outputShape[2]! }));
  const root = '/bench/imagenet';
  const now = new Date().toISOString();
  const runIds = Array.from({ length: runs }, (_, r) => `top-activations-bench-epoch-${String(r + 1).padStart(2, '0')}`);
  db.transaction(() => {
    const dataset = Number(db.prepare('INSERT INTO datasets (root, image_root, class_source, created_at) VALUES (?, ?, ?, ?)').run(root, root, 'LOC_synset_mapping.txt', now).lastInsertRowid);
    const cls = db.prepare('INSERT INTO classes (dataset_id, label, class_key, name) VALUES (?, ?, ?, ?)');
    for (let c = 0; c < BENCH_CLASSES; c++) cls.run(dataset, c, `n${String(1440764 + c * 97).padStart(8, '0')}`, `class name ${c}`);
    db.prepare("INSERT INTO dataset_splits (dataset_id, split, ordinal, layout, label_source, status, image_count, indexed_at) VALUES (?, 'val', 2, 'flat', 'LOC_val_solution.csv', 'ready', ?, ?)").run(dataset, BENCH_IMAGES, now);
    const image = db.prepare("INSERT INTO images (dataset_id, id, split, rel_path, label) VALUES (?, ?, 'val', ?, ?)");
    for (let i = 0; i < BENCH_IMAGES; i++) image.run(dataset, VAL_BASE_ID + i, `val/ILSVRC2012_val_${String(i + 1).padStart(8, '0')}.JPEG`, i % BENCH_CLASSES);
    const run = db.prepare("INSERT INTO runs (id, kind, status, model, backend, options_json, started_at, updated_at, finished_at) VALUES (?, 'top-activations', 'finished', 'zfnet', 'wasm', '{}', ?, ?, ?)");
    const pass = db.prepare(`INSERT INTO top_activation_runs (run_id, pass_key, weights, checkpoint_path, checkpoint_sha256, model, model_config_json, dataset_root, image_root,
      dataset_fingerprint, split, preprocessing_json, layers, top_k, shard_index, shard_count, images_total, position, images_processed)
      VALUES (?, ?, ?, ?, ?, 'zfnet', ?, ?, ?, 'bench', 'val', '{}', '1,2,3,4,5', 9, 0, 1, ?, ?, ?)`);
    const stats = db.prepare(`INSERT INTO unit_stats (run_id, layer, unit, images_seen, firing_count, max_value, sum_max, sum_max_squared, sum_mean, mean_max, std_max,
      mean_activation, firing_rate, dead, top_label, class_purity) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
    const top = db.prepare('INSERT INTO top_activations (run_id, layer, unit, rank, image_id, value, y, x, label, rel_path) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)');
    const zero = Buffer.alloc(8);
    runIds.forEach((id, r) => {
      const started = new Date(Date.parse(now) + r * 1000).toISOString();
      run.run(id, started, started, started);
      pass.run(id, `bench-${r}`, `sha-${r}`, `out/runs/bench/checkpoints/epoch-${String(r + 1).padStart(4, '0')}.safetensors`, `sha-${r}`, JSON.stringify(config), root, root, BENCH_IMAGES, BENCH_IMAGES, BENCH_IMAGES);
      for (const { layer, units } of layers) {
        for (let unit = 0; unit < units; unit++) {
          const dead = rng.next() < 0.05;
          const firing = dead ? 0 : Math.floor(rng.next() * BENCH_IMAGES);
          const max = dead ? 0 : 1 + rng.next() * 50;
          const label = Math.floor(rng.next() * BENCH_CLASSES);
          stats.run(id, layer, unit, BENCH_IMAGES, firing, max, zero, zero, zero, max / 3, max / 9, max / 20, firing / BENCH_IMAGES, dead ? 1 : 0, label, Math.ceil(rng.next() * 9) / 9);
          for (let rank = 0; rank < 9; rank++) {
            const i = Math.floor(rng.next() * BENCH_IMAGES);
            top.run(id, layer, unit, rank, VAL_BASE_ID + i, max * (1 - rank / 20), 3, 4, i % BENCH_CLASSES, `val/ILSVRC2012_val_${String(i + 1).padStart(8, '0')}.JPEG`);
          }
        }
      }
    });
  })();
  const imageIds = db.prepare('SELECT DISTINCT image_id FROM top_activations WHERE run_id = ? LIMIT 200').pluck().all(runIds[0]) as number[];
  db.close();
  return { runIds, imageIds, units: layers };
}
