import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { test } from 'node:test';
import sharp from 'sharp';
import { readRgbImage } from '../../src/image/png.js';
import { memoryRefusal, mtcnnBytes } from '../../src/commands/faces.js';
import { createMtcnnDetector } from '../../src/mtcnn/detector.js';
import { resolveBackend } from '../../src/mtcnn/engine.js';
import { runCli, scratchDir } from '../helpers/cli.js';
import { decodeImage } from '../helpers/compare-images.js';
import { fixturesDir, sharedTest } from '../helpers/shared.js';
import { goldenCases, goldenDir, goldenPath } from './golden-trace.js';
import { boxTolerance } from './trace-compare.js';

const astronautPath = join(fixturesDir, 'source', 'astronaut-head.png');

interface JsonEntry {
  image: string;
  width: number;
  height: number;
  faces: { box: number[]; probability: number; landmarks: number[][] }[];
}

test('dfdc faces --json: the documented shape, the library values, a missing file reported in its place (exit 1)', async () => {
  const { status, stdout, stderr } = runCli(['faces', '--json', 'nope.png', astronautPath]);
  assert.equal(status, 1);
  assert.equal(stderr, 'dfdc: nope.png: cannot read the image (no such file)\n');
  // One entry per argument, in order: positions match the command line.
  const [missing, ...entries] = JSON.parse(stdout) as [{ image: string; error: string }, ...JsonEntry[]];
  assert.deepEqual(missing, { image: 'nope.png', error: 'cannot read the image (no such file)' });
  assert.equal(entries.length, 1);
  assert.deepEqual(Object.keys(entries[0]!), ['image', 'width', 'height', 'faces']);
  assert.deepEqual([entries[0]!.image, entries[0]!.width, entries[0]!.height], [astronautPath, 192, 240]);
  // The engine the command picks (--backend auto): engines agree only within float noise.
  const detector = createMtcnnDetector({ backend: await resolveBackend('auto') });
  const [faces] = await detector.detectFaces([await readRgbImage(astronautPath)], { thresholds: [0.6, 0.7, 0.7], minFaceSize: 20 });
  await detector.dispose();
  assert.deepEqual(entries[0]!.faces, faces, `same float32 values as detectFaces on ${detector.backend} with the default thresholds`);
  assert.deepEqual(Object.keys(entries[0]!.faces[0]!), ['box', 'probability', 'landmarks']);
});

test('dfdc faces: a readable table by default; faces: [] and exit 0 when there is no face', async () => {
  const dir = scratchDir('faces');
  const blank = join(dir, 'blank.png');
  await sharp({ create: { width: 64, height: 48, channels: 3, background: { r: 90, g: 90, b: 90 } } }).png().toFile(blank);
  const table = runCli(['faces', astronautPath, blank]);
  assert.equal(table.status, 0, table.stderr);
  assert.match(table.stdout, /astronaut-head\.png {2}192x240 {2}1 face\n/);
  assert.match(table.stdout, /blank\.png {2}64x48 {2}0 faces\n/);
  assert.match(table.stdout, /^ {2}1 {3}\d+\.\d /m);
  const json = runCli(['faces', '--json', blank]);
  assert.equal(json.status, 0);
  assert.deepEqual(JSON.parse(json.stdout), [{ image: blank, width: 64, height: 48, faces: [] }]);
});

test('images are read as they are: alpha dropped, gray expanded to RGB', async () => {
  const dir = scratchDir('faces-formats');
  const rgba = join(dir, 'rgba.png');
  const gray = join(dir, 'gray.png');
  await sharp(astronautPath).ensureAlpha(0.5).png().toFile(rgba);
  await sharp(astronautPath).grayscale().toColourspace('b-w').png().toFile(gray);
  const stored = await decodeImage(astronautPath);
  assert.equal(stored.channels, 3);
  const read = await readRgbImage(rgba);
  assert.deepEqual([read.width, read.height], [stored.width, stored.height]);
  assert.ok(Buffer.from(read.data).equals(stored.data), 'the RGBA copy reads as the RGB original');
  const g = await readRgbImage(gray);
  const { data: plain, channels } = await decodeImage(gray);
  assert.equal(channels, 1, 'a 1-channel gray PNG');
  assert.equal(g.data.length, plain.length * 3);
  for (let p = 0; p < plain.length; p += 997) assert.deepEqual([...g.data.subarray(p * 3, p * 3 + 3)], [plain[p], plain[p], plain[p]]);
});

test('bad options: one line, exit 2; the tensorflow backend without tfjs-node: one line, exit 3', async () => {
  const bad = runCli(['faces', '--thresholds', '0.6,1.7,0.7', astronautPath]);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /^dfdc: --thresholds: must be probabilities between 0 and 1\n$/);
  const few = runCli(['faces', '--thresholds', '0.6,0.7', astronautPath]);
  assert.equal(few.status, 2);
  assert.match(few.stderr, /--thresholds: must be 3 comma-separated numbers/);
  let tfjsNode = true;
  try {
    await import(['@tensorflow', 'tfjs-node'].join('/'));
  } catch {
    tfjsNode = false;
  }
  if (!tfjsNode) {
    const tf = runCli(['faces', '--backend', 'tensorflow', astronautPath]);
    assert.equal(tf.status, 3);
    assert.match(tf.stderr, /^dfdc: the tensorflow backend needs @tensorflow\/tfjs-node .* neither is installed: .*--backend auto \(the default: the native engine, else wasm\), which needs nothing else\n$/);
  }
});

sharedTest('dfdc faces on a golden image with an ICC profile gives the reference detections (no colour conversion)', goldenPath, () => {
  const c = goldenCases()['paul_rudd/dfdc_originals']!;
  const { status, stdout } = runCli(['faces', '--json', '--thresholds', c.thresholds.join(','), join(goldenDir, c.image)]);
  assert.equal(status, 0);
  const [entry] = JSON.parse(stdout) as JsonEntry[];
  assert.equal(entry!.faces.length, c.boxes!.length);
  entry!.faces.forEach((face, i) => face.box.forEach((v, k) => assert.ok(Math.abs(v - c.boxes![i]![k]!) <= boxTolerance)));
});

test('dfdc faces: a video, a folder or a file that is not an image get what to give instead', () => {
  const dir = scratchDir('faces');
  writeFileSync(join(dir, 'clip.mp4'), 'not really');
  writeFileSync(join(dir, 'notes.png'), 'text');
  const { status, stderr } = runCli(['faces', join(dir, 'clip.mp4'), dir, join(dir, 'notes.png')]);
  assert.equal(status, 1);
  const lines = stderr.trimEnd().split('\n');
  assert.match(lines[0]!, /clip\.mp4: a video, not an image: dfdc faces reads images; take a frame first, e\.g\. ffmpeg -i .*clip\.mp4 -frames:v 1 frame\.png$/);
  assert.match(lines[1]!, /: a folder, not an image: give the image files in it/);
  assert.match(lines[2]!, /notes\.png: cannot read the image \(.+\): give a PNG, JPEG, WebP, GIF, TIFF or AVIF file$/);
});

test('dfdc faces refuses an image MTCNN could not hold in memory, with the size that would fit, instead of being killed', () => {
  // 12000x12000 at the default minimum face: measured 14.3 GB; the model says about as much.
  assert.ok(Math.abs(mtcnnBytes(12000, 12000, 20) - 14.5e9) < 1.5e9);
  assert.equal(memoryRefusal(4000, 3000, 20, 24e9), undefined);
  const refused = memoryRefusal(16000, 16000, 20, 24e9)!;
  assert.match(refused, /^16000x16000 would need about 25\.8 GB for MTCNN at --min-face-size 20, more than the 24\.0 GB this process may use: shrink it \(to 91% of its side or less\) or give a larger --min-face-size$/);
  // Shrunk as it says, it fits; a larger minimum face fits too.
  assert.equal(memoryRefusal(Math.floor(16000 * 0.91), Math.floor(16000 * 0.91), 20, 24e9), undefined);
  assert.equal(memoryRefusal(16000, 16000, 40, 24e9), undefined);
});

test('dfdc faces with a sharp that cannot load: one line that says so and how to fix it, exit 3, not every image refused as unreadable', () => {
  const scratch = scratchDir('faces-no-sharp');
  // A module hook that makes `sharp` unresolvable, as a broken install would.
  const hooks = `export async function resolve(specifier, context, next) { if (specifier === 'sharp') throw new Error('sharp hidden by the test'); return next(specifier, context); }`;
  const register = join(scratch, 'register.mjs');
  writeFileSync(register, `import { register } from 'node:module';\nregister(${JSON.stringify(`data:text/javascript,${encodeURIComponent(hooks)}`)});\n`);
  const { status, stdout, stderr } = runCli(['faces', '--json', astronautPath, astronautPath], { env: { NODE_OPTIONS: `--import ${pathToFileURL(register).href}` } });
  assert.equal(status, 3, stderr);
  assert.equal(stdout, '');
  assert.match(stderr, /^dfdc: sharp \(libvips\), which reads the images, cannot load \(sharp hidden by the test\): reinstall dfdc .*\n$/);
});
