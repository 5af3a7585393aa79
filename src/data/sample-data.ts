/**
 * The built-in sample dataset, written in the ILSVRC2012 layout:
 * train/<wnid>/<wnid>_<n>.JPEG, flat val/ILSVRC2012_val_<8 digits>.JPEG with
 * LOC_val_solution.csv, and LOC_synset_mapping.txt. Images are procedural
 * (sample-patterns.ts) and the same on every machine: every draw comes from a
 * fixed seed. Written into a temporary folder and renamed when complete, so
 * an interrupted run never leaves a half dataset that looks finished.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import pLimit from 'p-limit';
import { UsageError } from '../errors.js';
import sharp from 'sharp';
import { createRng, deriveSeed, drawPermutation, RNG_PURPOSE } from './seeded-rng.js';
import { drawSampleSize, renderSampleImage, SAMPLE_PATTERNS, type Canvas } from './sample-patterns.js';

/** Where commands put the sample dataset when --data is omitted. */
export const DEFAULT_SAMPLE_DIR = join('out', 'sample-data');
/** Marker written last; its content records how the dataset was made. */
export const SAMPLE_MARKER = '.sample-data-complete';
const SAMPLE_SEED = 20131112;
const GENERATOR_VERSION = 1;

export interface SampleDataOptions {
  /** Training images per class; default 120. */
  trainPerClass?: number;
  /** Validation images per class; default 25. */
  valPerClass?: number;
  /** Called after each image written, with (done, total). */
  onImage?: (done: number, total: number) => void;
}

export interface SampleDataResult {
  dir: string;
  classes: number;
  trainImages: number;
  valImages: number;
  created: boolean;
}

interface PlannedImage { classIndex: number; split: 'train' | 'val'; index: number; relPath: string }

/** Plans every file: train per class in order, val numbered in a seeded shuffled class order. */
function planImages(trainPerClass: number, valPerClass: number): PlannedImage[] {
  const plan: PlannedImage[] = [];
  SAMPLE_PATTERNS.forEach((p, classIndex) => {
    for (let n = 0; n < trainPerClass; n++) plan.push({ classIndex, split: 'train', index: n, relPath: `train/${p.wnid}/${p.wnid}_${n + 1}.JPEG` });
  });
  const valCount = valPerClass * SAMPLE_PATTERNS.length;
  const order = drawPermutation(valCount, createRng(deriveSeed(SAMPLE_SEED, RNG_PURPOSE.shuffle)));
  for (let v = 0; v < valCount; v++) {
    const slot = order[v]!;
    plan.push({ classIndex: slot % SAMPLE_PATTERNS.length, split: 'val', index: Math.floor(slot / SAMPLE_PATTERNS.length), relPath: `val/ILSVRC2012_val_${String(v + 1).padStart(8, '0')}.JPEG` });
  }
  return plan;
}

/** Renders and encodes one planned image (JPEG quality 90). */
async function writeSampleImage(dir: string, item: PlannedImage): Promise<Canvas> {
  const rng = createRng(deriveSeed(SAMPLE_SEED, RNG_PURPOSE.sample, item.classIndex, item.split === 'train' ? 0 : 1, item.index));
  const { widthPx, heightPx } = drawSampleSize(rng);
  const canvas = renderSampleImage(SAMPLE_PATTERNS[item.classIndex]!, widthPx, heightPx, rng);
  const rgb = new Uint8Array(canvas.data.length);
  rgb.set(canvas.data); // Uint8Array.set truncates; noise already clamped the values to 0..255
  await sharp(rgb, { raw: { width: widthPx, height: heightPx, channels: 3 } }).jpeg({ quality: 90 }).toFile(join(dir, item.relPath));
  return canvas;
}

/** Writes the label files next to the images. */
function writeLabelFiles(dir: string, plan: PlannedImage[], sizes: Map<string, [number, number]>): void {
  writeFileSync(join(dir, 'LOC_synset_mapping.txt'), SAMPLE_PATTERNS.map((p) => `${p.wnid} ${p.name}\n`).join(''));
  const rows = plan.filter((p) => p.split === 'val').map((p) => {
    const [w, h] = sizes.get(p.relPath)!;
    const stem = p.relPath.slice('val/'.length, -'.JPEG'.length);
    return `${stem},${SAMPLE_PATTERNS[p.classIndex]!.wnid} 0 0 ${w - 1} ${h - 1}\n`;
  });
  writeFileSync(join(dir, 'LOC_val_solution.csv'), `ImageId,PredictionString\n${rows.join('')}`);
}

/**
 * Generates the sample dataset into `dir` (replacing an earlier sample dataset there).
 * @throws RangeError for counts outside 1..10000; UsageError when `dir` holds
 *   anything but a sample dataset (it is never deleted).
 */
export async function writeSampleData(dir: string, options: SampleDataOptions = {}): Promise<SampleDataResult> {
  const trainPerClass = options.trainPerClass ?? 120;
  const valPerClass = options.valPerClass ?? 25;
  for (const [name, n] of [['trainPerClass', trainPerClass], ['valPerClass', valPerClass]] as const) {
    if (!Number.isInteger(n) || n < 1 || n > 10000) throw new RangeError(`Expected integer between 1 and 10000 for ${name} but received ${n}`);
  }
  const target = resolve(dir);
  if (existsSync(target) && readdirSync(target).length > 0 && !isSampleDataComplete(target)) {
    throw new UsageError(`${target} exists and is not a sample dataset; choose another --out (it is never overwritten)`);
  }
  const staging = `${target}.partial-${process.pid}`;
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(join(staging, 'val'), { recursive: true });
  for (const p of SAMPLE_PATTERNS) mkdirSync(join(staging, 'train', p.wnid), { recursive: true });
  const plan = planImages(trainPerClass, valPerClass);
  const limit = pLimit(Math.max(2, availableParallelism()));
  const sizes = new Map<string, [number, number]>();
  let done = 0;
  await Promise.all(plan.map((item) => limit(async () => {
    const canvas = await writeSampleImage(staging, item);
    sizes.set(item.relPath, [canvas.widthPx, canvas.heightPx]);
    options.onImage?.(++done, plan.length);
  })));
  writeLabelFiles(staging, plan, sizes);
  writeFileSync(join(staging, SAMPLE_MARKER), JSON.stringify({ generatorVersion: GENERATOR_VERSION, seed: SAMPLE_SEED, trainPerClass, valPerClass }));
  rmSync(target, { recursive: true, force: true });
  renameSync(staging, target);
  return { dir: target, classes: SAMPLE_PATTERNS.length, trainImages: trainPerClass * SAMPLE_PATTERNS.length, valImages: valPerClass * SAMPLE_PATTERNS.length, created: true };
}

/** True when `dir` holds a complete sample dataset. */
export function isSampleDataComplete(dir: string): boolean {
  return existsSync(join(dir, SAMPLE_MARKER));
}

/**
 * Returns the sample dataset in `dir`, creating it (default sizes) the first time.
 * Commands call this when --data is omitted.
 */
export async function ensureSampleData(dir: string = DEFAULT_SAMPLE_DIR, options: SampleDataOptions = {}): Promise<SampleDataResult> {
  const target = resolve(dir);
  if (isSampleDataComplete(target)) {
    const made = JSON.parse(readFileSync(join(target, SAMPLE_MARKER), 'utf8')) as { trainPerClass: number; valPerClass: number };
    return { dir: target, classes: SAMPLE_PATTERNS.length, trainImages: made.trainPerClass * SAMPLE_PATTERNS.length, valImages: made.valPerClass * SAMPLE_PATTERNS.length, created: false };
  }
  return writeSampleData(target, options);
}
