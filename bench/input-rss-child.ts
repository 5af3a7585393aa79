/**
 * Child process of `npm run bench -- input`: one pass of the batch stream
 * over the first LIMIT images of a split, sampling RSS every 20 ms; prints
 * {images, seconds, peakRssMiB, startRssMiB} as JSON. Run apart so the
 * parent's memory does not mix in.
 * Usage: node input-rss-child.js DATA_ROOT DB_PATH LIMIT INPUT_SIZE_PX
 */
import { createFallbackMean } from '../src/data/mean-image.js';
import { computeSquareSizePx } from '../src/data/crop-geometry.js';
import { openStore } from '../src/store/open-store.js';
import { createBatchStream, prepareDataset } from '../pipelines/shared/input-stream.js';

const [root, dbPath, limitArg, sizeArg] = process.argv.slice(2);
const db = openStore(dbPath!);
const { dataset } = await prepareDataset({ db, data: root!, splits: ['train'], log: () => {} });
const inputSizePx = Number(sizeArg);
const startRss = process.memoryUsage().rss;
let peakRss = startRss;
const sampler = setInterval(() => { peakRss = Math.max(peakRss, process.memoryUsage().rss); }, 20);
const startMs = Date.now();
let images = 0;
for await (const batch of createBatchStream({
  db, dataset, split: 'train', inputSizePx, crop: 'paper', seed: 1, epoch: 0, batchSize: 64,
  meanImage: createFallbackMean(computeSquareSizePx(inputSizePx)), limit: Number(limitArg),
})) {
  images += batch.imageIds.length;
}
clearInterval(sampler);
peakRss = Math.max(peakRss, process.memoryUsage().rss);
db.close();
process.stdout.write(`${JSON.stringify({ images, seconds: (Date.now() - startMs) / 1000, peakRssMiB: peakRss / 2 ** 20, startRssMiB: startRss / 2 ** 20 })}\n`);
