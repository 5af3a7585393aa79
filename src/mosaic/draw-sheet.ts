/**
 * Fills sheet canvases from laid-out unit blocks and prepared tiles, and
 * lists the text labels to overlay. Pure (the PNG writing is render-sheet.ts).
 */
import type { RgbImage } from './display-scaling.js';
import { blitScaled, createCanvas, fillRect } from './raster.js';
import { layoutSheet, type SheetLayout } from './sheet-layout.js';

/** A patch already placed inside its cell (placePatchInCell). */
export interface PlacedTile {
  image: RgbImage;
  top: number;
  left: number;
  heightPx: number;
  widthPx: number;
}

export interface UnitTiles {
  label: string;
  /** In rank order; fewer than entriesPerUnit leaves cells empty. */
  projections: PlacedTile[];
  patches: PlacedTile[];
}

export interface TextLabel {
  x: number;
  y: number;
  text: string;
  sizePx: number;
}

export interface DrawnSheet {
  canvas: RgbImage;
  labels: TextLabel[];
  layout: SheetLayout;
}

const CELL_BACKGROUND: [number, number, number] = [40, 40, 40];

function drawCell(canvas: RgbImage, cell: { left: number; top: number }, cellPx: number, tile: PlacedTile | undefined): void {
  fillRect(canvas, cell.left, cell.top, cellPx, cellPx, CELL_BACKGROUND);
  if (tile !== undefined) blitScaled(canvas, tile.image, cell.left + tile.left, cell.top + tile.top, tile.widthPx, tile.heightPx);
}

/**
 * Draws a sheet: per unit its projections (left grid) and image patches (right grid).
 */
export function drawUnitSheet(units: readonly UnitTiles[], cellPx: number, entriesPerUnit: number, columns: number): DrawnSheet {
  const layout = layoutSheet({ cellPx, entriesPerUnit, unitCount: units.length, columns });
  const canvas = createCanvas(layout.widthPx, layout.heightPx);
  const labels: TextLabel[] = [];
  layout.blocks.forEach((block, slot) => {
    const unit = units[slot]!;
    block.projectionCells.forEach((cell, i) => drawCell(canvas, cell, cellPx, unit.projections[i]));
    block.imageCells.forEach((cell, i) => drawCell(canvas, cell, cellPx, unit.patches[i]));
    labels.push({ x: block.labelLeft, y: block.labelTop, text: unit.label, sizePx: 12 });
  });
  return { canvas, labels, layout };
}

/**
 * Draws layer-1 filters as RGB tiles in a grid, each scaled to `cellPx`, labelled with its index.
 */
export function drawFilterSheet(filters: readonly RgbImage[], cellPx: number, columns: number): DrawnSheet {
  const layout = layoutSheet({ cellPx, entriesPerUnit: 1, unitCount: filters.length, columns });
  const canvas = createCanvas(layout.widthPx, layout.heightPx);
  const labels: TextLabel[] = [];
  layout.blocks.forEach((block, i) => {
    const cell = block.projectionCells[0]!;
    blitScaled(canvas, filters[i]!, cell.left, cell.top, cellPx, cellPx);
    labels.push({ x: block.labelLeft, y: block.labelTop, text: String(i), sizePx: 11 });
  });
  return { canvas, labels, layout };
}
