import assert from 'node:assert/strict';
import { test } from 'node:test';
import sharp from 'sharp';
import { decodeSquare, describeDecodeError } from '../../src/data/decode-image.js';
import { makeUniformJpeg } from './fixtures.js';

const RED = { width: 40, height: 20, channels: 3 as const, background: { r: 200, g: 30, b: 40 } };
const decode = (bytes: Buffer, squarePx = 8, maxInputPixels?: number) => decodeSquare(bytes, { squarePx, maxInputPixels });
const reasonOf = async (bytes: Buffer): Promise<string> => decode(bytes).then(() => 'decoded', describeDecodeError);
const firstPixel = (p: Uint8Array): number[] => [...p.subarray(0, 3)];
const near = (a: number[], b: number[], tol: number): boolean => a.every((v, i) => Math.abs(v - b[i]!) <= tol);

test('a JPEG decodes to the RGB square', async () => {
  const out = await decode(await sharp({ create: RED }).jpeg().toBuffer());
  assert.equal(out.pixels.length, 8 * 8 * 3);
  assert.ok(near(firstPixel(out.pixels), [200, 30, 40], 3));
});

test('zero-byte, text, and truncated files are refused with a reason', async () => {
  assert.equal(await reasonOf(Buffer.alloc(0)), 'empty file (0 bytes)');
  assert.equal(await reasonOf(Buffer.from('this is a text file, not an image')), 'Input buffer contains unsupported image format');
  const jpeg = await sharp({ create: { ...RED, width: 64, height: 64 } }).jpeg().toBuffer();
  assert.match(await reasonOf(jpeg.subarray(0, Math.floor(jpeg.length * 0.6))), /premature end of JPEG/);
});

test('PNG bytes (named .JPEG or not), CMYK JPEG, greyscale, 16-bit and RGBA PNG all decode to RGB', async () => {
  const png = await decode(await sharp({ create: RED }).png().toBuffer());
  assert.deepEqual(firstPixel(png.pixels), [200, 30, 40]);
  const cmykBytes = await sharp({ create: RED }).toColourspace('cmyk').jpeg().toBuffer();
  assert.equal((await sharp(cmykBytes).metadata()).space, 'cmyk');
  const cmyk = firstPixel((await decode(cmykBytes)).pixels);
  assert.ok(cmyk[0]! > 150 && cmyk[1]! < 60 && cmyk[2]! < 60, `CMYK red decoded as ${cmyk}`);
  const greyBytes = await sharp({ create: RED }).toColourspace('b-w').png().toBuffer();
  assert.equal((await sharp(greyBytes).metadata()).channels, 1);
  const grey = firstPixel((await decode(greyBytes)).pixels);
  assert.ok(grey[0] === grey[1] && grey[1] === grey[2]);
  const deepBytes = await sharp({ create: RED }).toColourspace('rgb16').png().toBuffer();
  assert.equal((await sharp(deepBytes).metadata()).depth, 'ushort');
  assert.ok(near(firstPixel((await decode(deepBytes)).pixels), [200, 30, 40], 2));
  const rgbaBytes = await sharp({ create: { width: 20, height: 20, channels: 4, background: { r: 10, g: 200, b: 40, alpha: 0.5 } } }).png().toBuffer();
  const rgba = await decode(rgbaBytes);
  assert.equal(rgba.pixels.length, 8 * 8 * 3);
  assert.ok(near(firstPixel(rgba.pixels), [10, 200, 40], 2));
});

test('EXIF orientation is applied before cropping', async () => {
  // stored 40x20: left half red, right half blue; orientation 6 displays it rotated 90 degrees clockwise (red on top)
  const raw = Buffer.alloc(40 * 20 * 3);
  for (let y = 0; y < 20; y++) for (let x = 0; x < 40; x++) raw[(y * 40 + x) * 3 + (x < 20 ? 0 : 2)] = 255;
  const bytes = await sharp(raw, { raw: { width: 40, height: 20, channels: 3 } }).withMetadata({ orientation: 6 }).jpeg({ quality: 95 }).toBuffer();
  const { pixels } = await decode(bytes, 10);
  const at = (y: number, x: number): number[] => [...pixels.subarray((y * 10 + x) * 3, (y * 10 + x) * 3 + 3)];
  assert.ok(at(1, 1)[0]! > 200 && at(1, 8)[0]! > 200, `top row should be red: ${at(1, 1)} ${at(1, 8)}`);
  assert.ok(at(8, 1)[2]! > 200 && at(8, 8)[2]! > 200, `bottom row should be blue: ${at(8, 1)} ${at(8, 8)}`);
});

test('a 12000x12000 JPEG decodes (shrink-on-load); images over the pixel limit are refused', async () => {
  const big = await decode(makeUniformJpeg(12000, 12000), 16);
  assert.deepEqual(firstPixel(big.pixels), [128, 128, 128]);
  assert.equal(await reasonOf(makeUniformJpeg(20000, 20000)), 'Input image exceeds pixel limit');
  assert.equal(await decode(makeUniformJpeg(64, 64), 8, 1000).then(() => 'decoded', describeDecodeError), 'Input image exceeds pixel limit');
});
