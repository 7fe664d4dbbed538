/**
 * `npm run fixtures`: builds fixtures/sample/, the project's own small synthetic DFDC-shaped
 * DATA_ROOT (two parts, REAL videos with a moving real face, FAKEs of them with the face region
 * altered, a REAL with no fake, a portrait video, a video with no face), deterministically.
 *
 * Every frame is rendered here in plain JavaScript arithmetic (bilinear resampling, compositing,
 * the fake alterations, RGB to BT.601 limited-range YUV 4:2:0), then piped as raw yuv420p into
 * ffmpeg's libx264 with single-threaded, bit-exact settings: the same ffmpeg/x264 gives the same
 * bytes. The output is committed so tests need no encoder. The face is a lossless crop of the NASA
 * astronaut portrait in fixtures/source/ (see its README); `--from-original <astronaut.png>` cuts
 * that crop again from the full image first. `--out <dir>` writes the fixtures elsewhere (to compare
 * a rebuild with the committed files): <dir>/sample, and the same videos laid out as
 * FaceForensics++, Celeb-DF, the DFDC preview and a manifest in <dir>/ffpp, celebdf, dfdcp and
 * manifest. `--layouts-only` lays out those four again from the sample without encoding.
 */
import { createHash } from 'node:crypto';
import { copyFile, mkdir, readFile, readdir, rm } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import sharp from 'sharp';
import { writeAtomicWith, writeFileAtomic } from '../src/util/atomic-write.js';
import { packageRoot } from '../src/util/package-root.js';
import { describeFfmpeg, locateFfmpeg } from '../src/video/ffmpeg-binaries.js';
import { probeFrames, runTool } from '../test/helpers/bad-inputs.js';
import { seededRandom } from '../test/helpers/seeded-random.js';

/** The committed source image: a lossless head crop of astronaut.png (fixtures/source/README.md). */
const headPath = join(packageRoot, 'fixtures', 'source', 'astronaut-head.png');

/** Where the head crop sits in the 512x512 astronaut.png. */
const headRegion = { left: 128, top: 8, width: 192, height: 240 };
/** The face (brows to chin, cheek to cheek, with a margin) in head-crop pixels: what fakes alter. */
const faceRect = { x0: 48, y0: 55, x1: 146, y1: 178 };
/** The mouth in head-crop pixels: where the block-noise fake draws. */
const mouthRect = { x0: 70, y0: 124, x1: 124, y1: 152 };

type Rgb = readonly [number, number, number];

interface Image {
  width: number;
  height: number;
  data: Uint8Array;
}

/** One face's path through a clip, as functions of t = frame / (frames - 1) in [0, 1]. */
interface FaceTrack {
  /** Mirror the head left-right. */
  flop: boolean;
  /** Head-crop pixels to frame pixels. */
  scale: (t: number) => number;
  /** Centre of the head crop in frame pixels. */
  cx: (t: number) => number;
  cy: (t: number) => number;
}

type Alteration = 'blur' | 'hue' | 'noise';

interface RealSpec {
  part: number;
  name: string;
  width: number;
  height: number;
  /** Frame rate as ffmpeg reads it, e.g. "25" or "30000/1001". */
  fps: string;
  frames: number;
  /** Vertical gradient, top then bottom colour. */
  background: readonly [Rgb, Rgb];
  faces: FaceTrack[];
  /** Moving soft discs over a drifting gradient instead of a static background (the no-face clip). */
  drift?: boolean;
  what: string;
}

/** A FAKE lives in its original's part. */
interface FakeSpec {
  name: string;
  original: RealSpec;
  alteration: Alteration;
  what: string;
}

const lerp = (a: number, b: number, t: number): number => a + (b - a) * t;
/** Smooth start and stop: 3t^2 - 2t^3. */
const ease = (t: number): number => t * t * (3 - 2 * t);
/** 0 at both ends, 1 in the middle. */
const bump = (t: number): number => 4 * t * (1 - t);

const realA: RealSpec = {
  part: 0, name: 'real_a', width: 640, height: 360, fps: '25', frames: 41,
  background: [[88, 112, 150], [30, 40, 62]],
  faces: [{ flop: false, scale: (t) => lerp(1.15, 1.35, ease(t)), cx: (t) => lerp(210, 420, ease(t)), cy: (t) => 180 - 12 * bump(t) }],
  what: 'one face panning left to right and zooming in (face about 125 to 145 px tall)',
};
const realSolo: RealSpec = {
  part: 0, name: 'real_solo', width: 640, height: 360, fps: '25', frames: 41,
  background: [[150, 138, 112], [70, 60, 48]],
  faces: [{ flop: true, scale: (t) => lerp(1.3, 1.15, ease(t)), cx: (t) => lerp(440, 250, ease(t)), cy: (t) => 176 + 10 * bump(t) }],
  what: 'one mirrored face panning right to left and zooming out; no fake',
};
const portrait: RealSpec = {
  part: 0, name: 'portrait', width: 360, height: 640, fps: '30000/1001', frames: 41,
  background: [[120, 150, 130], [40, 58, 50]],
  faces: [{ flop: false, scale: (t) => lerp(1.35, 1.45, ease(t)), cx: (t) => 180 + 10 * bump(t), cy: (t) => lerp(230, 400, ease(t)) }],
  what: 'portrait 360x640 at 29.97 fps, one face moving down (face about 145 to 155 px tall)',
};
const noFace: RealSpec = {
  part: 0, name: 'noface', width: 640, height: 360, fps: '25', frames: 25,
  background: [[60, 90, 70], [140, 110, 90]], faces: [], drift: true,
  what: 'no face: a drifting gradient with two moving soft discs',
};
const realB: RealSpec = {
  part: 1, name: 'real_b', width: 640, height: 360, fps: '25', frames: 41,
  background: [[100, 100, 110], [45, 45, 50]],
  faces: [
    { flop: false, scale: () => 1.25, cx: (t) => lerp(160, 190, ease(t)), cy: (t) => 180 - 6 * bump(t) },
    { flop: true, scale: (t) => lerp(0.95, 1.0, t), cx: (t) => lerp(490, 460, ease(t)), cy: (t) => 175 + 6 * bump(t) },
  ],
  what: 'two faces: a large one (about 135 px) on the left, a smaller mirrored one (about 105 px) on the right',
};

const reals: RealSpec[] = [realA, realSolo, portrait, noFace, realB];
const fakes: FakeSpec[] = [
  { name: 'fake_a_blur', original: realA, alteration: 'blur', what: 'real_a with the face blurred' },
  { name: 'fake_a_hue', original: realA, alteration: 'hue', what: 'real_a with the face hue-rotated by 120 degrees' },
  { name: 'fake_portrait', original: portrait, alteration: 'noise', what: 'portrait with block noise over the mouth' },
  { name: 'fake_b_noise', original: realB, alteration: 'noise', what: 'real_b with block noise over both mouths' },
];

function clampByte(value: number): number {
  return value <= 0 ? 0 : value >= 255 ? 255 : Math.round(value);
}

function gradient(width: number, height: number, [top, bottom]: readonly [Rgb, Rgb], shift = 0): Image {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const t = Math.min(1, Math.max(0, (y + 0.35 * x) / (height + 0.35 * width) + shift));
      const o = (y * width + x) * 3;
      for (let c = 0; c < 3; c++) data[o + c] = clampByte(lerp(top[c]!, bottom[c]!, t));
    }
  }
  return { width, height, data };
}

/** Bilinear sample of channel c at (u, v) in `image`, edges clamped. */
function sample(image: Image, u: number, v: number, c: number): number {
  const x = Math.min(Math.max(u, 0), image.width - 1);
  const y = Math.min(Math.max(v, 0), image.height - 1);
  const x0 = Math.floor(x);
  const y0 = Math.floor(y);
  const x1 = Math.min(x0 + 1, image.width - 1);
  const y1 = Math.min(y0 + 1, image.height - 1);
  const fx = x - x0;
  const fy = y - y0;
  const at = (xx: number, yy: number): number => image.data[(yy * image.width + xx) * 3 + c]!;
  return lerp(lerp(at(x0, y0), at(x1, y0), fx), lerp(at(x0, y1), at(x1, y1), fx), fy);
}

/** Where a head-crop point lands in the frame for this track at time t. */
function headToFrame(head: Image, track: FaceTrack, t: number): { ox: number; oy: number; s: number } {
  const s = track.scale(t);
  return { s, ox: track.cx(t) - (head.width * s) / 2, oy: track.cy(t) - (head.height * s) / 2 };
}

/** Draws the head, scaled and placed for time t, through a soft elliptical mask. */
function drawHead(frame: Image, head: Image, track: FaceTrack, t: number): void {
  const { s, ox, oy } = headToFrame(head, track, t);
  const xStart = Math.max(0, Math.floor(ox));
  const xEnd = Math.min(frame.width, Math.ceil(ox + head.width * s));
  const yStart = Math.max(0, Math.floor(oy));
  const yEnd = Math.min(frame.height, Math.ceil(oy + head.height * s));
  const halfW = head.width / 2;
  const halfH = head.height / 2;
  for (let y = yStart; y < yEnd; y++) {
    const v = (y + 0.5 - oy) / s - 0.5;
    for (let x = xStart; x < xEnd; x++) {
      let u = (x + 0.5 - ox) / s - 0.5;
      const dx = (u + 0.5 - halfW) / halfW;
      const dy = (v + 0.5 - halfH) / halfH;
      const r = Math.sqrt(dx * dx + dy * dy);
      if (r >= 1) continue;
      const alpha = r <= 0.82 ? 1 : (1 - r) / 0.18;
      if (track.flop) u = head.width - 1 - u;
      const o = (y * frame.width + x) * 3;
      for (let c = 0; c < 3; c++) {
        frame.data[o + c] = clampByte(lerp(frame.data[o + c]!, sample(head, u, v, c), alpha));
      }
    }
  }
}

/** A head-crop rectangle mapped into frame pixels (whole pixels, inside the frame). */
function rectInFrame(frame: Image, head: Image, track: FaceTrack, t: number, rect: typeof faceRect) {
  const { s, ox, oy } = headToFrame(head, track, t);
  const [hx0, hx1] = track.flop ? [head.width - rect.x1, head.width - rect.x0] : [rect.x0, rect.x1];
  return {
    x0: Math.max(0, Math.floor(ox + hx0 * s)),
    y0: Math.max(0, Math.floor(oy + rect.y0 * s)),
    x1: Math.min(frame.width, Math.ceil(ox + hx1 * s)),
    y1: Math.min(frame.height, Math.ceil(oy + rect.y1 * s)),
    s,
  };
}

type Rect = ReturnType<typeof rectInFrame>;

/** Three passes of a (2r+1) box blur, horizontal then vertical, inside the rectangle only. */
function blurRect(frame: Image, rect: Rect): void {
  const radius = Math.max(2, Math.round(5 * rect.s));
  const w = rect.x1 - rect.x0;
  const h = rect.y1 - rect.y0;
  let buffer = new Float64Array(w * h * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      for (let c = 0; c < 3; c++) buffer[(y * w + x) * 3 + c] = frame.data[((rect.y0 + y) * frame.width + rect.x0 + x) * 3 + c]!;
    }
  }
  for (let pass = 0; pass < 3; pass++) {
    for (const horizontal of [true, false]) {
      const next = new Float64Array(w * h * 3);
      for (let y = 0; y < h; y++) {
        for (let x = 0; x < w; x++) {
          for (let c = 0; c < 3; c++) {
            let sum = 0;
            for (let k = -radius; k <= radius; k++) {
              const xx = horizontal ? Math.min(w - 1, Math.max(0, x + k)) : x;
              const yy = horizontal ? y : Math.min(h - 1, Math.max(0, y + k));
              sum += buffer[(yy * w + xx) * 3 + c]!;
            }
            next[(y * w + x) * 3 + c] = sum / (2 * radius + 1);
          }
        }
      }
      buffer = next;
    }
  }
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      for (let c = 0; c < 3; c++) frame.data[((rect.y0 + y) * frame.width + rect.x0 + x) * 3 + c] = clampByte(buffer[(y * w + x) * 3 + c]!);
    }
  }
}

/** Rotates hue by 120 degrees about the grey axis: (r, g, b) -> (b, r, g). */
function hueRect(frame: Image, rect: Rect): void {
  for (let y = rect.y0; y < rect.y1; y++) {
    for (let x = rect.x0; x < rect.x1; x++) {
      const o = (y * frame.width + x) * 3;
      const r = frame.data[o]!;
      const g = frame.data[o + 1]!;
      const b = frame.data[o + 2]!;
      frame.data[o] = b;
      frame.data[o + 1] = r;
      frame.data[o + 2] = g;
    }
  }
}

/** Square blocks of random colour over the rectangle, new colours every frame. */
function noiseRect(frame: Image, rect: Rect, random: () => number): void {
  const block = Math.max(3, Math.round(6 * rect.s));
  for (let by = rect.y0; by < rect.y1; by += block) {
    for (let bx = rect.x0; bx < rect.x1; bx += block) {
      const colour = [Math.floor(random() * 256), Math.floor(random() * 256), Math.floor(random() * 256)];
      for (let y = by; y < Math.min(by + block, rect.y1); y++) {
        for (let x = bx; x < Math.min(bx + block, rect.x1); x++) {
          const o = (y * frame.width + x) * 3;
          for (let c = 0; c < 3; c++) frame.data[o + c] = colour[c]!;
        }
      }
    }
  }
}

/** The no-face clip's frame: the gradient drifts and two soft discs cross the picture. */
function driftFrame(spec: RealSpec, t: number): Image {
  const frame = gradient(spec.width, spec.height, spec.background, 0.25 * t - 0.125);
  const discs = [
    { cx: lerp(100, 540, t), cy: 120, r: 60, colour: [200, 170, 60] as Rgb },
    { cx: lerp(500, 160, t), cy: lerp(260, 220, t), r: 45, colour: [60, 150, 190] as Rgb },
  ];
  for (const disc of discs) {
    for (let y = Math.max(0, Math.floor(disc.cy - disc.r)); y < Math.min(spec.height, Math.ceil(disc.cy + disc.r)); y++) {
      for (let x = Math.max(0, Math.floor(disc.cx - disc.r)); x < Math.min(spec.width, Math.ceil(disc.cx + disc.r)); x++) {
        const d = Math.sqrt((x + 0.5 - disc.cx) ** 2 + (y + 0.5 - disc.cy) ** 2) / disc.r;
        if (d >= 1) continue;
        const alpha = d <= 0.7 ? 1 : (1 - d) / 0.3;
        const o = (y * spec.width + x) * 3;
        for (let c = 0; c < 3; c++) frame.data[o + c] = clampByte(lerp(frame.data[o + c]!, disc.colour[c]!, alpha));
      }
    }
  }
  return frame;
}

function renderReal(spec: RealSpec, head: Image, background: Image, index: number): Image {
  const t = spec.frames > 1 ? index / (spec.frames - 1) : 0;
  if (spec.drift) return driftFrame(spec, t);
  const frame = { width: spec.width, height: spec.height, data: background.data.slice() };
  for (const track of spec.faces) drawHead(frame, head, track, t);
  return frame;
}

function alter(frame: Image, spec: FakeSpec, head: Image, index: number): void {
  const real = spec.original;
  const t = real.frames > 1 ? index / (real.frames - 1) : 0;
  const random = seededRandom(1000 + index);
  for (const track of real.faces) {
    if (spec.alteration === 'blur') blurRect(frame, rectInFrame(frame, head, track, t, faceRect));
    else if (spec.alteration === 'hue') hueRect(frame, rectInFrame(frame, head, track, t, faceRect));
    else noiseRect(frame, rectInFrame(frame, head, track, t, mouthRect), random);
  }
}

/**
 * RGB to 8-bit BT.601 limited-range yuv420p with ffmpeg's integer coefficients; chroma from the
 * rounded mean of each 2x2 block (width and height must be even).
 */
function toYuv420p(frame: Image): Uint8Array {
  const { width, height, data } = frame;
  const out = new Uint8Array((width * height * 3) / 2);
  const uOffset = width * height;
  const vOffset = uOffset + (width * height) / 4;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * 3;
      out[y * width + x] = ((66 * data[o]! + 129 * data[o + 1]! + 25 * data[o + 2]! + 128) >> 8) + 16;
    }
  }
  for (let y = 0; y < height; y += 2) {
    for (let x = 0; x < width; x += 2) {
      let r = 0;
      let g = 0;
      let b = 0;
      for (const [dx, dy] of [[0, 0], [1, 0], [0, 1], [1, 1]] as const) {
        const o = ((y + dy) * width + x + dx) * 3;
        r += data[o]!;
        g += data[o + 1]!;
        b += data[o + 2]!;
      }
      r = (r + 2) >> 2;
      g = (g + 2) >> 2;
      b = (b + 2) >> 2;
      const i = (y / 2) * (width / 2) + x / 2;
      out[uOffset + i] = ((-38 * r - 74 * g + 112 * b + 128) >> 8) + 128;
      out[vOffset + i] = ((112 * r - 94 * g - 18 * b + 128) >> 8) + 128;
    }
  }
  return out;
}

/** x264 settings: single-threaded and bit-exact so the same encoder gives the same bytes. */
const encoderArgs = [
  '-an', '-c:v', 'libx264', '-preset', 'veryslow', '-crf', '23', '-g', '250', '-bf', '0',
  '-threads', '1', '-x264-params', 'threads=1:lookahead-threads=1:sliced-threads=0:deterministic=1',
  '-pix_fmt', 'yuv420p', '-fflags', '+bitexact', '-flags:v', '+bitexact', '-map_metadata', '-1',
];

/** Encodes raw yuv420p frames (piped to ffmpeg's stdin) into an H.264 mp4 at `path`. */
async function encode(path: string, width: number, height: number, fps: string, frames: Uint8Array[]): Promise<void> {
  const { ffmpegPath } = await locateFfmpeg();
  await writeAtomicWith(path, async (temporary) => {
    const args = [
      '-hide_banner', '-loglevel', 'error', '-y',
      '-f', 'rawvideo', '-pix_fmt', 'yuv420p', '-s:v', `${width}x${height}`, '-framerate', fps, '-i', 'pipe:0',
      ...encoderArgs, '-f', 'mp4', temporary,
    ];
    const result = await runTool(ffmpegPath, args, Buffer.concat(frames));
    if (result.code !== 0) throw new Error(`ffmpeg failed on ${path}: ${result.stderr.trim()}`);
  });
}

async function loadHead(fromOriginal: string | undefined): Promise<Image> {
  if (fromOriginal) {
    await writeAtomicWith(headPath, (temporary) =>
      sharp(fromOriginal).extract(headRegion).png({ compressionLevel: 9 }).toFile(temporary),
    );
  }
  const { data, info } = await sharp(headPath).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, data: new Uint8Array(data.buffer, data.byteOffset, data.length) };
}

interface Built {
  part: number;
  name: string;
  label: string;
  width: number;
  height: number;
  frames: number;
  bytes: number;
  sha256: string;
}

/** Probes an encoded file (decoding every frame), fails unless it is what `spec` asked for, and describes it. */
async function checkAndDescribe(path: string, part: number, name: string, label: string, spec: RealSpec): Promise<Built> {
  const { width, height, frames } = spec;
  const probe = await probeFrames(path);
  if (probe.width !== width || probe.height !== height || probe.frames !== frames || probe.codec !== 'h264' || probe.pixFmt !== 'yuv420p') {
    throw new Error(`${path}: expected h264 yuv420p ${width}x${height} with ${frames} frames, ffprobe says ${JSON.stringify(probe)}`);
  }
  const bytes = await readFile(path);
  return { part, name, label, width, height, frames, bytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') };
}

function optionValue(name: string): string | undefined {
  const at = process.argv.indexOf(name);
  if (at < 0) return undefined;
  const value = process.argv[at + 1];
  if (value === undefined) throw new Error(`${name} needs a value`);
  return value;
}

/**
 * The same videos in the other layouts dfdc reads (fixtures/<layout>/, see fixtures/README.md):
 * sample video name -> path in that layout. The files are copies of the sample's, byte for byte, so
 * a run on any of them must give the sample's outputs under the layout's ids (and git stores each
 * video once).
 */
const layoutCopies: Record<string, Record<string, string>> = {
  ffpp: {
    real_a: 'original_sequences/youtube/c23/videos/000.mp4',
    real_b: 'original_sequences/youtube/c23/videos/004.mp4',
    real_solo: 'original_sequences/youtube/c23/videos/002.mp4',
    noface: 'original_sequences/youtube/c23/videos/003.mp4',
    fake_a_blur: 'manipulated_sequences/Deepfakes/c23/videos/000_001.mp4',
    fake_a_hue: 'manipulated_sequences/FaceSwap/c23/videos/000_001.mp4',
    fake_b_noise: 'manipulated_sequences/Deepfakes/c23/videos/004_005.mp4',
    portrait: 'original_sequences/actors/c23/videos/01__talking.mp4',
    fake_portrait: 'manipulated_sequences/DeepFakeDetection/c23/videos/01_02__talking__FIXTURE1.mp4',
  },
  celebdf: {
    real_a: 'Celeb-real/id0_0000.mp4',
    fake_a_blur: 'Celeb-synthesis/id0_id1_0000.mp4',
    fake_a_hue: 'Celeb-synthesis/id0_id2_0000.mp4',
    real_b: 'Celeb-real/id1_0001.mp4',
    fake_b_noise: 'Celeb-synthesis/id1_id0_0001.mp4',
    portrait: 'Celeb-real/id2_0002.mp4',
    fake_portrait: 'Celeb-synthesis/id2_id1_0002.mp4',
    real_solo: 'YouTube-real/00000.mp4',
    noface: 'YouTube-real/00001.mp4',
  },
  dfdcp: {
    real_a: 'original_videos/100/100_A_001.mp4',
    fake_a_blur: 'method_A/100/200/200_100_A_001.mp4',
    fake_a_hue: 'method_B/100/300/300_100_A_001.mp4',
    real_b: 'original_videos/200/200_B_002.mp4',
    fake_b_noise: 'method_A/200/100/100_200_B_002.mp4',
    portrait: 'original_videos/300/300_C_003.mp4',
    fake_portrait: 'method_A/300/100/100_300_C_003.mp4',
    real_solo: 'original_videos/400/400_D_004.mp4',
    noface: 'original_videos/500/500_E_005.mp4',
  },
  manifest: {
    real_a: 'videos/real/a.mp4',
    fake_a_blur: 'videos/fake/a-blur.mp4',
    fake_a_hue: 'videos/fake/a-hue.mp4',
    real_b: 'videos/real/b.mp4',
    fake_b_noise: 'videos/fake/b-noise.mp4',
    portrait: 'videos/real/portrait.mp4',
    fake_portrait: 'videos/fake/portrait.mp4',
    real_solo: 'videos/real/solo.mp4',
    noface: 'videos/real/noface.mp4',
  },
};

/** The lists each layout keeps beside its videos: FaceForensics++'s splits, Celeb-DF's test list, the DFDC preview's dataset.json, the manifest. */
function layoutLists(): Record<string, Record<string, string>> {
  const dfdcp = layoutCopies.dfdcp!;
  const record = (label: string, set: string, target: string, swapped?: string) => ({ label, set, target_id: target, ...(swapped ? { swapped_id: swapped } : {}) });
  const dataset = {
    [dfdcp.real_a!]: record('real', 'train', '100'),
    [dfdcp.fake_a_blur!]: record('fake', 'train', '100', '200'),
    [dfdcp.fake_a_hue!]: record('fake', 'train', '100', '300'),
    [dfdcp.real_b!]: record('real', 'train', '200'),
    [dfdcp.fake_b_noise!]: record('fake', 'train', '200', '100'),
    [dfdcp.portrait!]: record('real', 'test', '300'),
    [dfdcp.fake_portrait!]: record('fake', 'test', '300', '100'),
    [dfdcp.real_solo!]: record('real', 'train', '400'),
    [dfdcp.noface!]: record('real', 'train', '500'),
  };
  const m = layoutCopies.manifest!;
  const manifest = [
    'path,label,original,split,group',
    `${m.real_a},REAL,,train,person-a`,
    `${m.fake_a_blur},FAKE,${m.real_a},train,person-a`,
    `${m.fake_a_hue},FAKE,${m.real_a},train,person-a`,
    `${m.real_b},REAL,,train,person-b`,
    `${m.fake_b_noise},FAKE,${m.real_b},train,person-b`,
    `${m.portrait},REAL,,test,`,
    `${m.fake_portrait},FAKE,${m.portrait},test,`,
    `${m.real_solo},REAL,,train,`,
    `${m.noface},REAL,,train,`,
  ].join('\n');
  return {
    ffpp: {
      'splits/train.json': JSON.stringify([['000', '001']]),
      'splits/val.json': JSON.stringify([['002', '003']]),
      'splits/test.json': JSON.stringify([['004', '005']]),
    },
    celebdf: { 'List_of_testing_videos.txt': '1 Celeb-real/id2_0002.mp4\n0 Celeb-synthesis/id2_id1_0002.mp4\n1 YouTube-real/00001.mp4\n' },
    dfdcp: { 'dataset.json': JSON.stringify(dataset) },
    manifest: { 'manifest.csv': `${manifest}\n` },
  };
}

/** Lays the sample's videos out in every other layout under `fixturesDir` (each layout folder made anew). */
async function layOutOtherLayouts(sampleDir: string, fixturesDir: string): Promise<void> {
  const sources = new Map<string, string>();
  for (const part of (await readdir(sampleDir)).filter((entry) => entry.startsWith('dfdc_train_part_'))) {
    for (const file of await readdir(join(sampleDir, part))) if (file.endsWith('.mp4')) sources.set(file.slice(0, -4), join(sampleDir, part, file));
  }
  const lists = layoutLists();
  for (const [layout, copies] of Object.entries(layoutCopies)) {
    const dir = join(fixturesDir, layout);
    for (const entry of await readdir(dir).catch(() => [] as string[])) if (entry !== 'README.md') await rm(join(dir, entry), { recursive: true });
    for (const [name, path] of Object.entries(copies)) {
      const target = join(dir, ...path.split('/'));
      await mkdir(dirname(target), { recursive: true });
      await copyFile(sources.get(name)!, target);
    }
    for (const [path, text] of Object.entries(lists[layout] ?? {})) {
      await mkdir(dirname(join(dir, path)), { recursive: true });
      await writeFileAtomic(join(dir, ...path.split('/')), text);
    }
    console.log(`${layout}: ${Object.keys(copies).length} videos in ${dir}`);
  }
}

async function main(): Promise<void> {
  const fixturesDir = resolve(optionValue('--out') ?? join(packageRoot, 'fixtures'));
  const sampleDir = join(fixturesDir, 'sample');
  if (process.argv.includes('--layouts-only')) {
    await layOutOtherLayouts(sampleDir, fixturesDir);
    return;
  }
  const head = await loadHead(optionValue('--from-original'));
  for (const entry of await readdir(sampleDir).catch(() => [] as string[])) {
    if (entry.startsWith('dfdc_train_part_')) await rm(join(sampleDir, entry), { recursive: true });
  }
  const built: Built[] = [];
  const metadata = new Map<number, Record<string, { label: string; split: string; original: string | null }>>();
  for (const spec of reals) {
    const dir = join(sampleDir, `dfdc_train_part_${spec.part}`);
    await mkdir(dir, { recursive: true });
    const records = metadata.get(spec.part) ?? {};
    metadata.set(spec.part, records);
    const background = gradient(spec.width, spec.height, spec.background);
    const realFrames: Image[] = [];
    for (let i = 0; i < spec.frames; i++) realFrames.push(renderReal(spec, head, background, i));
    const path = join(dir, `${spec.name}.mp4`);
    await encode(path, spec.width, spec.height, spec.fps, realFrames.map(toYuv420p));
    built.push(await checkAndDescribe(path, spec.part, spec.name, 'REAL', spec));
    records[`${spec.name}.mp4`] = { label: 'REAL', split: 'train', original: null };
    for (const fake of fakes.filter((f) => f.original === spec)) {
      const fakeFrames = realFrames.map((frame, i) => {
        const copy = { width: frame.width, height: frame.height, data: frame.data.slice() };
        alter(copy, fake, head, i);
        return toYuv420p(copy);
      });
      const fakePath = join(dir, `${fake.name}.mp4`);
      await encode(fakePath, spec.width, spec.height, spec.fps, fakeFrames);
      built.push(await checkAndDescribe(fakePath, spec.part, fake.name, 'FAKE', spec));
      records[`${fake.name}.mp4`] = { label: 'FAKE', split: 'train', original: `${spec.name}.mp4` };
    }
  }
  for (const [part, records] of metadata) {
    await writeFileAtomic(join(sampleDir, `dfdc_train_part_${part}`, 'metadata.json'), JSON.stringify(records));
  }
  const what = new Map<string, string>([...reals, ...fakes].map((spec) => [spec.name, spec.what]));
  let total = 0;
  for (const b of built.sort((x, y) => x.part - y.part || x.name.localeCompare(y.name))) {
    total += b.bytes;
    console.log(
      `part ${b.part}  ${b.name.padEnd(14)} ${b.label}  ${`${b.width}x${b.height}`.padEnd(8)} ${String(b.frames).padStart(3)} frames ${String(b.bytes).padStart(7)} B  ${b.sha256.slice(0, 12)}  ${what.get(b.name)}`,
    );
  }
  console.log(`${built.length} videos, ${total} bytes in ${sampleDir}; ${describeFfmpeg(await locateFfmpeg())}`);
  await layOutOtherLayouts(sampleDir, fixturesDir);
}

await main();
