/**
 * The words every view of a run uses (the CLI's tables, the report, the
 * explorer, the mosaics pages), in one place so that they say the same thing:
 * classes by name with their id, ranks 1-9, what each unit statistic means,
 * and how to read a deconvnet projection. Pure.
 *
 * The store, URLs and file names keep the 0-based rank (rank 0 is the
 * strongest; `patches/0.png`, `unit-0003-rank0.npy`): they are identifiers.
 * Whatever a person reads counts from 1.
 */

/** The readable name of a class with its key when they differ ("vertical stripes (n90000002)"); the key alone when there is no name. */
export function formatClass(name: string | null, key: string | null): string {
  if (name === null) return key ?? '\u2013';
  return key !== null && key !== name ? `${name} (${key})` : name;
}

/** A stored 0-based rank as people read it: 1 is the strongest. */
export function displayRank(storedRank: number): number {
  return storedRank + 1;
}

/** One unit statistic: its column label where space is short, and what it means. */
export interface StatisticWords {
  label: string;
  legend: string;
}

/** The unit statistics every table shows, keyed as the store's columns are read. */
export type UnitStatisticKey = 'imagesSeen' | 'firingRate' | 'meanMax' | 'stdMax' | 'meanActivation' | 'maxValue' | 'dead' | 'topClass' | 'classPurity';

/**
 * What each unit statistic means, for legends and column tooltips.
 * @param topK entries kept per unit (9 for the paper's top-9)
 */
export function describeUnitStatistics(topK: number): Readonly<Record<UnitStatisticKey, StatisticWords>> {
  return Object.freeze({
    imagesSeen: { label: 'images', legend: 'images of the split the pass went over' },
    firingRate: { label: 'firing rate', legend: 'share of the images on which the unit fires somewhere: its largest value in the image\'s map is above 0' },
    meanMax: { label: 'mean max', legend: 'mean of per-image max: the unit\'s largest value in each image\'s map, averaged over the images' },
    stdMax: { label: 'std max', legend: 'standard deviation of that per-image max over the images' },
    meanActivation: { label: 'mean activation', legend: 'the unit\'s value averaged over every position of every image\'s map (0 where it does not fire)' },
    maxValue: { label: 'max', legend: `its largest value over all images: the value of its rank-1 image` },
    dead: { label: 'dead', legend: 'the unit never fired: 0 at every position of every image (its projections are uniform grey)' },
    topClass: { label: 'top class', legend: `the most frequent class among the unit's top-${topK} images` },
    classPurity: { label: 'class purity', legend: `share of the top-${topK} images that belong to the top class (1: all ${topK}; 1/${topK} or less: no class stands out)` },
  });
}

/**
 * How to read a deconvnet projection, for the top of every page that shows
 * projections: what the two halves are, the display scaling, and the two
 * sights that look wrong and are not (conv1's nine identical projections,
 * patches that are the whole image).
 */
export const READING_PROJECTIONS = 'How to read a projection. Left: for each of the unit\'s top-9 images, its deconvnet projection, the one activation '
  + 'taken back down to pixels through the layers below it (unpooled with that image\'s own max-pool switches, rectified, filtered with the transposed '
  + 'filters): it shows which pixels of that image drove the unit, and in what pattern. Right: the image patch under the unit\'s receptive field, what '
  + 'the unit can see. Each projection is scaled on its own (grey is 0), so compare patterns, not brightness. Two sights are expected: in the first conv '
  + 'layer the nine projections of a unit are the same picture, because below it there is no pooling whose switches could carry anything of the image, '
  + 'and one conv taken back gives the unit\'s filter, scaled by the activation; in deep layers the receptive field can be as large as the input or '
  + 'larger (conv4 107 px and conv5 139 px in ZFNet, against the demo model\'s 112 px input), so the patch is the whole image, clipped at its border, '
  + 'and the projection shows where in it the unit looked.';

/** One sentence on a layer's receptive field against the model's input, when the field covers most of it (else null). */
export function describeFieldAgainstInput(layerName: string, fieldPx: number, inputPx: number): string | null {
  if (fieldPx >= inputPx) return `${layerName} sees ${fieldPx} px of a ${inputPx} px input, more than the whole image: each patch is the whole input, clipped at its border.`;
  if (fieldPx * 4 >= inputPx * 3) return `${layerName} sees ${fieldPx} px of a ${inputPx} px input, nearly the whole image: patches away from the border are most of it.`;
  return null;
}

/**
 * The command that opens the explorer over a store, as the demo's summary and
 * the report print it: the store's path relative to `cwd` when it lies below
 * it, quoted when the shell would split it; `launcher` is how the binary is
 * started (`./run-pipeline` in the checkout).
 */
export function describeExplorerCommand(dbPath: string, cwd: string, launcher = 'run-pipeline'): string {
  const below = dbPath.startsWith(`${cwd}/`) ? dbPath.slice(cwd.length + 1) : dbPath;
  const shown = /^[\w./@%+=:,-]+$/.test(below) ? below : `'${below.replace(/'/g, `'\\''`)}'`;
  return `${launcher} serve --db ${shown}`;
}
