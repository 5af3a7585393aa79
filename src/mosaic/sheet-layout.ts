/**
 * Layout maths of the mosaic sheets, in the style of the paper's Fig. 2: per
 * unit a 3x3 grid of projections beside the 3x3 grid of the matching image
 * patches, under a label with the unit index; units in a grid, paged. Pure.
 */

export interface SheetLayoutOptions {
  /** Side of one patch cell in pixels (patches are scaled into it). */
  cellPx: number;
  /** Patches per unit (9 for top-9); arranged in a square grid. */
  entriesPerUnit: number;
  /** Units on this sheet. */
  unitCount: number;
  /** Unit blocks per row of the sheet. */
  columns: number;
  /** Gap between cells, blocks and the sheet border. */
  gapPx?: number;
  labelPx?: number;
}

export interface CellPlacement {
  left: number;
  top: number;
}

export interface UnitBlock {
  /** Index of the unit on the sheet (0-based, in reading order). */
  slot: number;
  left: number;
  top: number;
  /** Where the label's baseline starts. */
  labelLeft: number;
  labelTop: number;
  projectionCells: CellPlacement[];
  imageCells: CellPlacement[];
}

export interface SheetLayout {
  widthPx: number;
  /** Margin around and between blocks. */
  gapPx: number;
  heightPx: number;
  cellPx: number;
  gridSide: number;
  blockWidthPx: number;
  blockHeightPx: number;
  blocks: UnitBlock[];
}

/** Side of the square grid holding `entries` patches (3 for 9). */
export function computeGridSide(entries: number): number {
  return Math.max(1, Math.ceil(Math.sqrt(entries)));
}

/** Cells of a side x side grid in reading order, 1 px apart. */
function placeGrid(left: number, top: number, side: number, count: number, cellPx: number): CellPlacement[] {
  return Array.from({ length: count }, (_, i) => ({
    left: left + (i % side) * (cellPx + 1),
    top: top + Math.floor(i / side) * (cellPx + 1),
  }));
}

/**
 * Positions every unit block and cell of one sheet.
 * @throws RangeError when a size is not a positive integer
 */
export function layoutSheet(options: SheetLayoutOptions): SheetLayout {
  const { cellPx, entriesPerUnit, unitCount, columns } = options;
  for (const [name, v] of Object.entries({ cellPx, entriesPerUnit, unitCount, columns })) {
    if (!Number.isInteger(v) || v < 1) throw new RangeError(`Expected positive integer for ${name} but received ${v}`);
  }
  const gapPx = options.gapPx ?? 8;
  const labelPx = options.labelPx ?? 16;
  const side = computeGridSide(entriesPerUnit);
  const gridPx = side * cellPx + (side - 1);
  const midGapPx = Math.ceil(gapPx / 2);
  const blockWidthPx = 2 * gridPx + midGapPx;
  const blockHeightPx = labelPx + gridPx;
  const cols = Math.min(columns, unitCount);
  const rows = Math.ceil(unitCount / cols);
  const blocks: UnitBlock[] = Array.from({ length: unitCount }, (_, slot) => {
    const left = gapPx + (slot % cols) * (blockWidthPx + gapPx);
    const top = gapPx + Math.floor(slot / cols) * (blockHeightPx + gapPx);
    return {
      slot, left, top, labelLeft: left, labelTop: top + labelPx - 4,
      projectionCells: placeGrid(left, top + labelPx, side, entriesPerUnit, cellPx),
      imageCells: placeGrid(left + gridPx + midGapPx, top + labelPx, side, entriesPerUnit, cellPx),
    };
  });
  return {
    widthPx: gapPx + cols * (blockWidthPx + gapPx), gapPx, heightPx: gapPx + rows * (blockHeightPx + gapPx),
    cellPx, gridSide: side, blockWidthPx, blockHeightPx, blocks,
  };
}

/**
 * Splits units into sheets of at most `perSheet`.
 * @returns the unit lists of each page, in order
 */
export function pageUnits(units: readonly number[], perSheet: number): number[][] {
  const pages: number[][] = [];
  for (let i = 0; i < units.length; i += perSheet) pages.push(units.slice(i, i + perSheet));
  return pages;
}

/**
 * Where a (possibly clipped) patch sits in its cell: scaled by
 * cellPx / receptiveFieldPx, and offset where the receptive field was clipped,
 * so a border patch shows its true size and side.
 * @param clipBefore pixels of the receptive field cut off above / left of the image
 */
export function placePatchInCell(receptiveFieldPx: number, cellPx: number, patch: { heightPx: number; widthPx: number }, clipBefore: { top: number; left: number }): { scale: number; top: number; left: number; heightPx: number; widthPx: number } {
  const scale = cellPx / receptiveFieldPx;
  return {
    scale,
    top: Math.round(clipBefore.top * scale),
    left: Math.round(clipBefore.left * scale),
    heightPx: Math.max(1, Math.round(patch.heightPx * scale)),
    widthPx: Math.max(1, Math.round(patch.widthPx * scale)),
  };
}

/** Cell side for a layer: its receptive field, but at least `minCellPx` (layer 1's 7 px is scaled up). */
export function chooseCellPx(receptiveFieldPx: number, imageSizePx: number, minCellPx = 48): number {
  return Math.max(minCellPx, Math.min(receptiveFieldPx, imageSizePx));
}
