import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { channelsOf, fitsSsimWindow, meanSsim, reflectIndex, ssimMap, ssimRows, type Image8 } from '../../src/ssim/ssim-map.js';
import { decodeImage } from '../helpers/compare-images.js';
import { parityDir, sharedTest } from '../helpers/shared.js';

const C1 = (0.01 * 255) ** 2;
const C2 = (0.03 * 255) ** 2;

function gray(width: number, height: number, rows: number[][]): Image8 {
  return { width, height, data: Uint8Array.from(rows.flat()) };
}

/** Deterministic pseudo-random bytes (LCG), so hand-made cases are reproducible. */
function noise(length: number, seed: number): Uint8Array {
  let state = seed >>> 0;
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    out[i] = state >>> 24;
  }
  return out;
}

const ssimDir = join(parityDir, 'ssim');

sharedTest('SSIM map of camera.png vs its noisy copy is bit-identical to scikit-image 0.19', ssimDir, async (t) => {
  const camera = await decodeImage(join(ssimDir, 'camera.png'));
  const noisy = await decodeImage(join(ssimDir, 'camera_noisy_seed5_sigma20.png'));
  assert.equal(camera.channels, 1, 'camera.png decodes as 1-channel gray');
  assert.equal(noisy.channels, 1, 'the noisy copy decodes as 1-channel gray');
  assert.deepEqual([camera.width, camera.height], [512, 512]);

  const raw = readFileSync(join(ssimDir, 'camera_vs_noisy_ssim_map_512x512_f64le.raw'));
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const expected = new Float64Array(512 * 512);
  for (let i = 0; i < expected.length; i++) expected[i] = view.getFloat64(8 * i, true);

  const map = ssimMap(camera, noisy);
  assert.equal(map.channels, 1);
  assert.equal(map.data.length, expected.length);
  let maxAbs = 0;
  let differing = 0;
  for (let i = 0; i < expected.length; i++) {
    const d = Math.abs(map.data[i]! - expected[i]!);
    if (d > 0) differing++;
    if (d > maxAbs) maxAbs = d;
  }
  t.diagnostic(`max |ours - reference| = ${maxAbs}, pixels differing: ${differing} of ${expected.length}`);
  assert.equal(differing, 0, `expected a bit-identical map; max abs difference ${maxAbs}`);

  const cropped = meanSsim(map.data, 512, 512);
  const whole = meanSsim(map.data, 512, 512, 0);
  t.diagnostic(`mean SSIM: ${cropped} (3-px crop), ${whole} (whole map)`);
  assert.ok(Math.abs(cropped - 0.3674518327910367) <= 1e-12, `cropped mean ${cropped}`);
  assert.ok(Math.abs(whole - 0.36618390678445545) <= 1e-12, `whole mean ${whole}`);
});

test('identical images give SSIM exactly 1 everywhere', () => {
  for (const [width, height, channels] of [[23, 17, 3], [7, 7, 1], [2, 5, 3], [1, 1, 1]] as const) {
    const data = noise(width * height * channels, width * 31 + height);
    const map = ssimMap({ width, height, data }, { width, height, data: data.slice() });
    assert.equal(map.channels, channels);
    assert.ok(map.data.every((s) => s === 1), `${width}x${height}x${channels}`);
  }
});

test('constant images give the closed form (2km + C1) / (k^2 + m^2 + C1)', () => {
  for (const [k, m] of [[0, 0], [0, 255], [128, 64], [255, 254]] as const) {
    const a = { width: 9, height: 8, data: new Uint8Array(72).fill(k) };
    const b = { width: 9, height: 8, data: new Uint8Array(72).fill(m) };
    const expected = (2 * k * m + C1) / (k * k + m * m + C1);
    for (const s of ssimMap(a, b).data) assert.ok(Math.abs(s - expected) <= 1e-15, `k=${k} m=${m}: ${s} vs ${expected}`);
  }
});

test("reflectIndex is SciPy's 'reflect' (d c b a | a b c d | d c b a), repeated past a short line", () => {
  const around = (length: number) => Array.from({ length: 13 }, (_, i) => reflectIndex(i - 6, length));
  assert.deepEqual(around(1), Array(13).fill(0));
  assert.deepEqual(around(2), [1, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 1, 1]);
  assert.deepEqual(around(3), [0, 1, 2, 2, 1, 0, 0, 1, 2, 2, 1, 0, 0]);
  assert.deepEqual(around(4), [2, 3, 3, 2, 1, 0, 0, 1, 2, 3, 3, 2, 1]);
  assert.deepEqual(around(8).slice(3, 10), [2, 1, 0, 0, 1, 2, 3]);
});

test('a 3x3 image, narrower than the window: means follow the hand-counted reflect weights', () => {
  // On a line of 3 (a b c) the 7-wide reflect window at position 0 covers c b a | a b c | c:
  // weights a 2, b 2, c 3; at 1: a 2, b 3, c 2; at 2: a 3, b 2, c 2 (SciPy: [10,20,30] -> [150,140,130]/7).
  const weights = [
    [2, 2, 3],
    [2, 3, 2],
    [3, 2, 2],
  ];
  const a = [[10, 20, 30], [40, 50, 60], [70, 80, 250]];
  const b = [[12, 25, 29], [0, 255, 66], [71, 80, 3]];
  const mean = (f: (i: number, j: number) => number, r: number, c: number) => {
    let s = 0;
    for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) s += weights[r]![i]! * weights[c]![j]! * f(i, j);
    return s / 49;
  };
  const map = ssimMap(gray(3, 3, a), gray(3, 3, b));
  for (let r = 0; r < 3; r++) {
    for (let c = 0; c < 3; c++) {
      const ux = mean((i, j) => a[i]![j]!, r, c);
      const uy = mean((i, j) => b[i]![j]!, r, c);
      const vx = (49 / 48) * (mean((i, j) => a[i]![j]! ** 2, r, c) - ux * ux);
      const vy = (49 / 48) * (mean((i, j) => b[i]![j]! ** 2, r, c) - uy * uy);
      const vxy = (49 / 48) * (mean((i, j) => a[i]![j]! * b[i]![j]!, r, c) - ux * uy);
      const expected = ((2 * ux * uy + C1) * (2 * vxy + C2)) / ((ux * ux + uy * uy + C1) * (vx + vy + C2));
      assert.ok(Math.abs(map.data[r * 3 + c]! - expected) <= 1e-12, `(${r}, ${c}): ${map.data[r * 3 + c]} vs ${expected}`);
    }
  }
});

test('tiny images match SciPy uniform_filter + scikit-image formula bit for bit', () => {
  // Reference numbers: scipy.ndimage.uniform_filter(size=7, mode='reflect') on float64 and
  // scikit-image 0.19's SSIM expression, printed with repr (round-trips exactly).
  const cases: Array<[string, Image8, Image8, number[]]> = [
    ['1x1', gray(1, 1, [[200]]), gray(1, 1, [[13]]), [0.1295939608969421]],
    [
      '3x2',
      gray(3, 2, [[0, 255, 17], [90, 3, 250]]),
      gray(3, 2, [[255, 0, 40], [88, 200, 1]]),
      [-0.7245738664250504, -0.814041921261579, -0.7945906354382605, -0.6907719961833736, -0.7763239038257608, -0.7552295138626423],
    ],
    [
      '3x3',
      gray(3, 3, [[10, 20, 30], [40, 50, 60], [70, 80, 250]]),
      gray(3, 3, [[12, 25, 29], [0, 255, 66], [71, 80, 3]]),
      [
        -0.2299037704033596, -0.18637488142029024, -0.14300314029191136, -0.17423137128681607, -0.10561141011399103,
        -0.07078205520421026, -0.12612361564532187, -0.055691260926565615, -0.02874968884061283,
      ],
    ],
    [
      '5x4',
      { width: 5, height: 4, data: Uint8Array.from({ length: 20 }, (_, i) => (i * 13) % 256) },
      { width: 5, height: 4, data: Uint8Array.from({ length: 20 }, (_, i) => (i * 29 + 7) % 256) },
      [
        0.43187427603681927, 0.3382338322621599, 0.25247172100751636, 0.12578216684285226, 0.09169679011296258,
        0.5256369709452111, 0.3689617711663929, 0.2253935668620601, 0.05097065825579509, 0.033974477879483406,
        0.5641165180312238, 0.42942816696007075, 0.2991445383188897, 0.12514992805888567, 0.10166123644594337,
        0.3502305176627839, 0.22101967545526566, 0.1201965979564557, -0.04172740926228694, -0.060348820620535766,
      ],
    ],
  ];
  for (const [name, a, b, expected] of cases) assert.deepEqual(Array.from(ssimMap(a, b).data), expected, name);
});

test('channels are independent: an RGB map equals the three gray maps interleaved', () => {
  const width = 19;
  const height = 11;
  const a = noise(width * height * 3, 1);
  const b = noise(width * height * 3, 2);
  const rgb = ssimMap({ width, height, data: a }, { width, height, data: b });
  for (let c = 0; c < 3; c++) {
    const plane = (data: Uint8Array) => ({ width, height, data: data.filter((_, i) => i % 3 === c) });
    const single = ssimMap(plane(a), plane(b)).data;
    for (let i = 0; i < width * height; i++) assert.equal(rgb.data[i * 3 + c], single[i], `channel ${c} pixel ${i}`);
  }
  const perChannel = [0, 1, 2].map((c) => meanSsim(rgb.data.filter((_, i) => i % 3 === c), width, height));
  assert.ok(Math.abs(meanSsim(rgb.data, width, height, 3, 3) - (perChannel[0]! + perChannel[1]! + perChannel[2]!) / 3) <= 1e-15);
});

test('ssimRows streams the same rows as ssimMap', () => {
  const width = 13;
  const height = 9;
  const a = { width, height, data: noise(width * height * 3, 3) };
  const b = { width, height, data: noise(width * height * 3, 4) };
  const full = ssimMap(a, b).data;
  const seen: number[] = [];
  ssimRows(a, b, (y, row) => {
    seen.push(y);
    assert.deepEqual(Array.from(row.subarray(0, width * 3)), Array.from(full.subarray(y * width * 3, (y + 1) * width * 3)));
  });
  assert.deepEqual(seen, Array.from({ length: height }, (_, y) => y));
  assert.throws(() => ssimRows(a, b, () => ssimMap(a, b)), /not reentrant/);
  assert.equal(ssimMap(a, b).data[0], full[0], 'usable again after a failed reentrant call');
});

test('meanSsim crops the border and averages; NaN when nothing is left', () => {
  // 8x7, value x^2 + 100 y^2: a 3-px crop leaves x 3..4 of row 3.
  const map = Float64Array.from({ length: 8 * 7 }, (_, i) => (i % 8) ** 2 + 100 * Math.floor(i / 8) ** 2);
  assert.equal(meanSsim(map, 8, 7), (9 + 16) / 2 + 900);
  assert.equal(meanSsim(map, 8, 7, 0), 140 / 8 + (100 * 91) / 7);
  assert.ok(Math.abs(meanSsim(map, 8, 7, 1) - (91 / 6 + (100 * 55) / 5)) <= 1e-12);
  assert.ok(Number.isNaN(meanSsim(map, 8, 7, 4)));
  assert.throws(() => meanSsim(map, 8, 8), /Expected 8x8x1 values/);
});

test('size checks: mismatched images and malformed buffers are refused', () => {
  const a = { width: 4, height: 4, data: new Uint8Array(48) };
  assert.throws(() => ssimMap(a, { width: 4, height: 3, data: new Uint8Array(36) }), /same size/);
  assert.throws(() => ssimMap(a, { width: 4, height: 4, data: new Uint8Array(16) }), /same size/);
  assert.throws(() => channelsOf({ width: 4, height: 4, data: new Uint8Array(47) }), /Expected 4x4x\(1 to 4\) bytes/);
  assert.throws(() => channelsOf({ width: 0, height: 4, data: new Uint8Array(0) }), /positive integer size/);
});

test("fitsSsimWindow: scikit-image refuses sides under 7 px (the reference then writes no diff)", () => {
  assert.equal(fitsSsimWindow(7, 7), true);
  assert.equal(fitsSsimWindow(300, 7), true);
  assert.equal(fitsSsimWindow(6, 300), false);
  assert.equal(fitsSsimWindow(300, 6), false);
});
