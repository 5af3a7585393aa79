/**
 * Test fixture for top-activations: a tiny class-per-folder dataset
 * (`val/<class>/<n>.png`) of small deterministic images, optionally with a
 * few bad files that the input stages must skip and record.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { createRng } from '../../src/data/seeded-rng.js';
import type { Store } from '../../src/store/open-store.js';

export interface TinyDatasetOptions {
  classes: number;
  perClass: number;
  sizePx?: number;
  /** Add a zero-byte file and a text file named .png (both must be skipped). */
  withBadFiles?: boolean;
}

/** Writes the dataset under `root` and returns the number of good and bad images. */
export async function writeTinyDataset(root: string, options: TinyDatasetOptions): Promise<{ good: number; bad: string[] }> {
  const sizePx = options.sizePx ?? 40;
  const rng = createRng(4242);
  for (let c = 0; c < options.classes; c++) {
    const dir = join(root, 'val', `class${String(c).padStart(2, '0')}`);
    mkdirSync(dir, { recursive: true });
    for (let i = 0; i < options.perClass; i++) {
      const pixels = Buffer.alloc(sizePx * sizePx * 3);
      const period = 3 + c * 2;
      for (let p = 0; p < pixels.length; p++) {
        const x = Math.floor(p / 3) % sizePx;
        pixels[p] = ((x + i) % period < period / 2 ? 200 : 40) + rng.nextInt(40) - (p % 3) * 20 * c;
      }
      await sharp(pixels, { raw: { width: sizePx, height: sizePx, channels: 3 } }).png().toFile(join(dir, `img${String(i).padStart(3, '0')}.png`));
    }
  }
  const bad: string[] = [];
  if (options.withBadFiles === true) {
    const dir = join(root, 'val', 'class00');
    writeFileSync(join(dir, 'img000a-empty.png'), Buffer.alloc(0));
    writeFileSync(join(dir, 'img000b-text.png'), 'this is not an image\n');
    bad.push(join(dir, 'img000a-empty.png'), join(dir, 'img000b-text.png'));
  }
  return { good: options.classes * options.perClass, bad };
}

/**
 * The results of a run in comparable form: every statistic and top-k row,
 * without the run id and without the exact-sum BLOBs (whose partials may
 * split the same exact sum differently).
 */
export function readRunResults(db: Store, runId: string): { stats: unknown[]; top: unknown[] } {
  const stats = db.prepare(`SELECT layer, unit, images_seen, firing_count, max_value, mean_max, std_max, mean_activation, firing_rate, dead, top_label, class_purity
      FROM unit_stats WHERE run_id = ? ORDER BY layer, unit`).all(runId);
  const top = db.prepare('SELECT layer, unit, rank, image_id, value, y, x, label, rel_path FROM top_activations WHERE run_id = ? ORDER BY layer, unit, rank').all(runId);
  return { stats, top };
}
