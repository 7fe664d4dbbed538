/**
 * Stage 4's arithmetic on one 300x300 RGB pair: the SSIM map alone, and map + diff mask (the
 * target is 5.5 ms per pair on one thread; scikit-image + OpenCV take 16.5 ms). The pair is the
 * top-left 300x300 of a real original/fake crop pair from the parity data when it is present,
 * otherwise seeded noise and a perturbed copy of it.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import type { RgbImage } from '../src/image/rgb-image.js';
import { diffMask } from '../src/ssim/diff-mask.js';
import { ssimMap, ssimRows } from '../src/ssim/ssim-map.js';
import { parityDir } from '../test/helpers/shared.js';

const SIDE = 300;
const RUNS = 200;

async function cutCrop(path: string): Promise<RgbImage> {
  const data = await sharp(path).extract({ left: 0, top: 0, width: SIDE, height: SIDE }).removeAlpha().raw().toBuffer();
  return { width: SIDE, height: SIDE, data: new Uint8Array(data.buffer, data.byteOffset, data.length) };
}

function noisePair(): [RgbImage, RgbImage, string] {
  let state = 12345;
  const next = (): number => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return state >>> 24;
  };
  const a = new Uint8Array(SIDE * SIDE * 3);
  const b = new Uint8Array(SIDE * SIDE * 3);
  for (let i = 0; i < a.length; i++) {
    a[i] = next();
    b[i] = Math.min(255, Math.max(0, a[i]! + (next() % 41) - 20));
  }
  return [{ width: SIDE, height: SIDE, data: a }, { width: SIDE, height: SIDE, data: b }, 'seeded noise'];
}

async function pair(): Promise<[RgbImage, RgbImage, string]> {
  const original = join(parityDir, 'dataset_b', 'expected', 'crops', 'hl1real', '0_0.png');
  const fake = join(parityDir, 'dataset_b', 'expected', 'crops', 'hl1fake', '0_0.png');
  if (!existsSync(original) || !existsSync(fake)) return noisePair();
  return [await cutCrop(original), await cutCrop(fake), 'hl1real/hl1fake 0_0.png, top-left 300x300'];
}

function medianMs(run: () => void): number {
  for (let i = 0; i < 20; i++) run();
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const start = process.hrtime.bigint();
    run();
    times.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  times.sort((x, y) => x - y);
  return times[times.length >> 1]!;
}

export default async function bench(): Promise<Record<string, unknown>> {
  const [original, fake, source] = await pair();
  let sink = 0;
  const mapRowsMs = medianMs(() => ssimRows(original, fake, (_y, row) => (sink += row[0]!)));
  const mapArrayMs = medianMs(() => (sink += ssimMap(original, fake).data[0]!));
  const mapAndMaskMs = medianMs(() => (sink += diffMask(original, fake).data[0]!));
  return {
    input: `${SIDE}x${SIDE} RGB pair (${source})`,
    runs: RUNS,
    mapAndMaskMsPerPair: round(mapAndMaskMs),
    mapMsPerPair: round(mapRowsMs),
    maskMsPerPair: round(mapAndMaskMs - mapRowsMs),
    fullMapArrayMsPerPair: round(mapArrayMs),
    targetMsPerPair: 5.5,
    referenceSkimageMsPerPair: 16.5,
    checksum: Number.isFinite(sink),
  };
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}
