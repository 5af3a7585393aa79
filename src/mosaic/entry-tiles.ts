/**
 * One top-k entry as drawn: its receptive-field box (from the layer geometry,
 * clipped to the image), the projection values inside it, and the projection
 * and image-patch tiles placed in their cells. Pure.
 */
import { receptiveFieldBox, type LayerGeometry, type PixelBox } from '../model/geometry.js';
import { cropBox, cropBoxWithin, stretchSymmetric } from './display-scaling.js';
import type { PlacedTile } from './draw-sheet.js';
import { placePatchInCell } from './sheet-layout.js';

export interface EntryTiles {
  box: PixelBox;
  /** [box.heightPx, box.widthPx, 3] projection values, before display scaling. */
  projectionValues: Float32Array;
  projection: PlacedTile;
  patch: PlacedTile;
}

/** The part of a projection a tile needs: [heightPx, widthPx, 3] values covering `box` of the image, zero outside it. */
export interface ProjectionPart {
  box: PixelBox;
  values: Float32Array;
}

/**
 * @param projection the entry's pixel-space projection: a full [S, S, 3] frame, or the part of it
 *   that holds the receptive field (the onnx engine's window)
 * @param display [S, S, 3] the image crop the model saw, 0..255
 * @throws RangeError when a window does not cover the receptive field
 */
export function makeEntryTiles(geometry: LayerGeometry, y: number, x: number, sizePx: number, projection: Float32Array | ProjectionPart, display: Uint8Array, cellPx: number): EntryTiles {
  const box = receptiveFieldBox(geometry, y, x, sizePx);
  const clipBefore = { top: box.top - (geometry.offsetPx! + y * geometry.jumpPx!), left: box.left - (geometry.offsetPx! + x * geometry.jumpPx!) };
  const place = placePatchInCell(geometry.receptiveFieldPx!, cellPx, box, clipBefore);
  const projectionValues = projection instanceof Float32Array ? cropBox(projection, sizePx, 3, box) : cropBoxWithin(projection.values, projection.box, 3, box);
  const size = { widthPx: box.widthPx, heightPx: box.heightPx };
  const at = { top: place.top, left: place.left, heightPx: place.heightPx, widthPx: place.widthPx };
  return {
    box,
    projectionValues,
    projection: { image: { ...size, pixels: stretchSymmetric(projectionValues) }, ...at },
    patch: { image: { ...size, pixels: cropBox(display, sizePx, 3, box) }, ...at },
  };
}
