/**
 * Pictures of preferred inputs: the optimised image as 8-bit RGB, the part
 * of it under the centre cell's receptive field (what the centre objective
 * optimises, at the scale of the top-9 patches), and sheets where each unit's
 * preferred input fills the left grid of its block beside its top-9 patches
 * (the mosaics' block layout). Pure (PNG writing is render-sheet.ts).
 */
import { receptiveFieldBox, type LayerGeometry, type PixelBox } from '../model/geometry.js';
import { cropBox, type RgbImage } from '../mosaic/display-scaling.js';
import type { DrawnSheet, PlacedTile, TextLabel } from '../mosaic/draw-sheet.js';
import { blitScaled, createCanvas, fillRect } from '../mosaic/raster.js';
import { layoutSheet } from '../mosaic/sheet-layout.js';

/** [S, S, 3] RGB 0..1 -> 8-bit RGB. */
export function toRgbImage(rgb01: Float32Array, sizePx: number): RgbImage {
  return { widthPx: sizePx, heightPx: sizePx, pixels: Uint8Array.from(rgb01, (v) => Math.round(Math.min(1, Math.max(0, v)) * 255)) };
}

/** The centre cell (floor(H/2), floor(W/2)) of a map and its receptive field, clipped to the image. */
export function centreFieldBox(geometry: LayerGeometry, sizePx: number): { y: number; x: number; box: PixelBox } {
  const [h, w] = geometry.outputShape as [number, number, number];
  const y = Math.floor(h / 2), x = Math.floor(w / 2);
  return { y, x, box: receptiveFieldBox(geometry, y, x, sizePx) };
}

/** The part of `image` under the centre cell's receptive field. */
export function cropCentreField(image: RgbImage, geometry: LayerGeometry): RgbImage {
  const { box } = centreFieldBox(geometry, image.widthPx);
  return { widthPx: box.widthPx, heightPx: box.heightPx, pixels: cropBox(image.pixels, image.widthPx, 3, box) };
}

export interface PreferredBlock {
  label: string;
  /** Drawn over the whole left grid of the block. */
  preferred: RgbImage;
  /** The unit's top-k patches in rank order (may be empty: no top-activations run). */
  patches: PlacedTile[];
}

const CELL_BACKGROUND: [number, number, number] = [40, 40, 40];

/** A sheet of blocks: per unit its preferred input (left) beside its top-k patches (right grid, `entriesPerUnit` cells). */
export function drawPreferredSheet(blocks: readonly PreferredBlock[], cellPx: number, entriesPerUnit: number, columns: number): DrawnSheet {
  const layout = layoutSheet({ cellPx, entriesPerUnit, unitCount: blocks.length, columns });
  const canvas = createCanvas(layout.widthPx, layout.heightPx);
  const labels: TextLabel[] = [];
  const gridPx = layout.gridSide * cellPx + (layout.gridSide - 1);
  layout.blocks.forEach((block, slot) => {
    const unit = blocks[slot]!;
    const corner = block.projectionCells[0]!;
    blitScaled(canvas, unit.preferred, corner.left, corner.top, gridPx, gridPx);
    block.imageCells.forEach((cell, i) => {
      fillRect(canvas, cell.left, cell.top, cellPx, cellPx, CELL_BACKGROUND);
      const tile = unit.patches[i];
      if (tile !== undefined) blitScaled(canvas, tile.image, cell.left + tile.left, cell.top + tile.top, tile.widthPx, tile.heightPx);
    });
    labels.push({ x: block.labelLeft, y: block.labelTop, text: unit.label, sizePx: 12 });
  });
  return { canvas, labels, layout };
}
