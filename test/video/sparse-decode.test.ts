import assert from 'node:assert/strict';
import { existsSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import type { Rect } from '../../src/image/rgb-image.js';
import { decodeVideo, type DecodeSummary } from '../../src/video/decode.js';
import { avcConfigOfMoov, boxesIn, readAvcConfig } from '../../src/video/mp4-boxes.js';
import { PACKET_DISCARD, PACKET_KEY, probePacketIndex, probeVideo, type PacketIndex } from '../../src/video/probe.js';
import { avcConfigParameterSets, parsePps, parseSps, ppsAcceptable } from '../../src/video/h264-order.js';
import { droppable, flvVideoTag, keepPacket, nalUnits, planSparseDecode, showinfoRank, sparseSelectFilter, type SparsePlan } from '../../src/video/sparse-decode.js';
import { prepareSparseDecode } from '../../src/video/sparse-input.js';
import { scratchDir } from '../helpers/cli.js';
import { inCi, mediaDir, sampleRoot } from '../helpers/shared.js';
import { canMakeH264, runFfmpeg } from './synthetic-video.js';

/**
 * A sparse decode (src/video/sparse-decode.ts) leaves out the H.264 pictures nothing refers to
 * that are not wanted. It must deliver exactly the frames, indices and summary of the whole decode
 * (DFDC_SPARSE_DECODE=0): checked byte for byte on generated clips, on real DFDC, FaceForensics++
 * and lip-sync clips when ../shared/media is present, and on hostile files (timestamps that
 * disagree with the pictures' order, a truncated file, an edit list), where it must notice and
 * hand over to the whole decode.
 */

// ---- the arithmetic ----

/** Length-prefixed NAL units (4-byte lengths) with the given header bytes and payload sizes. */
function packet(...units: [header: number, payload: number][]): Uint8Array {
  const parts: number[] = [];
  for (const [header, payload] of units) {
    const length = payload + 1;
    parts.push((length >>> 24) & 255, (length >>> 16) & 255, (length >>> 8) & 255, length & 255, header, ...new Array<number>(payload).fill(0x5a));
  }
  return Uint8Array.from(parts);
}

test('droppable: only pictures nothing refers to, with nothing else in the packet that matters', () => {
  // nal_ref_idc 0, type 1: a non-reference slice; with an SEI (6) or access unit delimiter (9) too.
  assert.equal(droppable(nalUnits(packet([0x01, 20]), 4)), true);
  assert.equal(droppable(nalUnits(packet([0x06, 5], [0x01, 20], [0x01, 9]), 4)), true);
  assert.equal(droppable(nalUnits(packet([0x09, 1], [0x01, 20]), 4)), true);
  // A reference slice (nal_ref_idc 2), an IDR slice, a parameter set, end of sequence, data partition.
  assert.equal(droppable(nalUnits(packet([0x41, 20]), 4)), false);
  assert.equal(droppable(nalUnits(packet([0x65, 20]), 4)), false);
  assert.equal(droppable(nalUnits(packet([0x01, 20], [0x68, 3]), 4)), false);
  assert.equal(droppable(nalUnits(packet([0x01, 20], [0x0a, 0]), 4)), false);
  assert.equal(droppable(nalUnits(packet([0x02, 20]), 4)), false);
  // No slice at all; the forbidden bit; lengths that overrun or stop short of the packet.
  assert.equal(droppable(nalUnits(packet([0x06, 5]), 4)), false);
  assert.equal(droppable(nalUnits(packet([0x81, 20]), 4)), false);
  assert.equal(droppable(nalUnits(packet([0x01, 20]).subarray(0, 15), 4)), false);
  assert.equal(droppable(nalUnits(Uint8Array.from([...packet([0x01, 20]), 0, 0]), 4)), false);
  assert.equal(droppable(nalUnits(new Uint8Array(0), 4)), false);
  // Two-byte lengths (an avcC may say 1, 2 or 4).
  assert.equal(droppable(nalUnits(Uint8Array.of(0, 3, 0x01, 9, 9), 2)), true);
});

function packetIndex(pts: number[], flags: number[] = pts.map((_, i) => (i === 0 ? PACKET_KEY : 0)), reorderDelay = 2): PacketIndex {
  return {
    pts: Float64Array.from(pts),
    pos: Float64Array.from(pts, (_, i) => i * 100),
    size: Float64Array.from(pts, () => 100),
    flags: Uint8Array.from(flags),
    extradataSize: 40,
    reorderDelay,
  };
}

test('planSparseDecode: ranks by presentation time, the last packet needed, and the cases it declines', () => {
  // Decode order I P B B P B B ... as x264 writes it: presentation 0 3 1 2 6 4 5 (times in 100s).
  const pts = [0, 3, 1, 2, 6, 4, 5].map((k) => k * 100);
  const plan = planSparseDecode(packetIndex(pts), { every: 3, announcedFrames: 7 }) as SparsePlan;
  assert.deepEqual([...plan.rank], [0, 3, 1, 2, 6, 4, 5]);
  // Ranks 0, 3 and 6 are wanted; rank 6 is packet 4; a packet 2 places late gives a shift of 1.
  assert.deepEqual([plan.end, plan.shift, plan.frames, plan.lastRank], [4, 1, 3, 6]);
  // Up to frame 3 only: packet 1 is the last needed.
  const short = planSparseDecode(packetIndex(pts), { every: 3, lastFrame: 4, announcedFrames: null }) as SparsePlan;
  assert.deepEqual([short.end, short.frames, short.lastRank], [1, 2, 4]);

  const reason = (index: PacketIndex, every = 3, announcedFrames: number | null = null) => {
    const result = planSparseDecode(index, { every, announcedFrames });
    return 'reason' in result ? result.reason : 'planned';
  };
  assert.equal(reason(packetIndex(pts), 1), 'every frame is wanted');
  assert.equal(reason(packetIndex(pts, undefined, 0)), 'no B-frames');
  assert.equal(reason(packetIndex(pts), 3, 8), '7 packets for 8 frames');
  assert.match(reason(packetIndex(pts, [PACKET_KEY | PACKET_DISCARD, 0, 0, 0, 0, 0, 0])), /edit list/);
  assert.match(reason(packetIndex([0, 300, 100, 100, 600, 400, 500])), /distinct timestamp/);
  assert.match(reason(packetIndex([0, 300, Number.NaN, 200, 600, 400, 500])), /distinct timestamp/);
});

test('keepPacket: wanted frames and keyframes are always kept, others only when droppable says so', () => {
  const pts = [0, 3, 1, 2, 6, 4, 5].map((k) => k * 100);
  const index = packetIndex(pts);
  const plan = planSparseDecode(index, { every: 3, announcedFrames: null }) as SparsePlan;
  assert.deepEqual(
    pts.map((_, i) => keepPacket(plan, index, i, true)),
    [true, true, false, false, true, false, false],
  );
  assert.deepEqual(
    pts.map((_, i) => keepPacket(plan, index, i, false)),
    pts.map(() => true),
  );
});

test('FLV tags: the layout ffmpeg reads, and the filter and showinfo lines that carry the frame numbers', () => {
  const { head, tail } = flvVideoTag('packet', 0x01234567, 80, false, 1000);
  assert.deepEqual([...head], [9, 0, 0x03, 0xed, 0x23, 0x45, 0x67, 0x01, 0, 0, 0, 0x27, 1, 0, 0, 80]);
  assert.deepEqual([...tail], [0, 0, 0x03, 0xf8]);
  assert.deepEqual([...flvVideoTag('config', 0, 0, true, 43).head.subarray(11, 13)], [0x17, 0]);

  const plan = { rank: new Int32Array(0), end: 0, shift: 2, every: 10, lastRank: 290, frames: 30 };
  assert.equal(sparseSelectFilter(plan), "select='not(mod((round(t*25)-2)\\,10))*lte((round(t*25)-2)\\,290)+lt(pts\\,prev_pts)'");
  // ffmpeg 5.1 and the 2018 static build both write this line (level-tagged or not).
  assert.equal(showinfoRank('[Parsed_showinfo_1 @ 0x55d0] [info] n:   3 pts:   1280 pts_time:1.28    duration: 40 pos: 12 fmt:yuv420p', plan), 30);
  assert.equal(showinfoRank('[Parsed_showinfo_1 @ 0x1] n:   0 pts:     80 pts_time:0.08    pos:  13 fmt:yuv420p', plan), 0);
  assert.equal(showinfoRank('[Parsed_showinfo_1 @ 0x1] [info]  color_range:tv color_space:bt470bg', plan), undefined);
  assert.equal(showinfoRank('[h264 @ 0x1] [error] no frame!', plan), undefined);
});

test('parameter sets: the fields picture order needs, as ffmpeg\'s trace_headers reads them', () => {
  // The avcC of a DFDC clip (x264, High profile); trace_headers: log2_max_frame_num_minus4 0,
  // pic_order_cnt_type 0, log2_max_pic_order_cnt_lsb_minus4 2, frame_mbs_only_flag 1.
  const avcC = Buffer.from('01640028ffe1001a67640028acd940780227e5c04400000301900000' + '5da83c60c65801000668ebe3cb22c0', 'hex');
  const [sps, pps, ...rest] = avcConfigParameterSets(avcC)!;
  assert.equal(rest.length, 0);
  // Also max_num_ref_frames 4, pic_width_in_mbs_minus1 119, pic_height_in_map_units_minus1 67,
  // frame_crop_bottom_offset 4 (1920x1080); in the VUI aspect_ratio_idc 1, no video signal type,
  // max_num_reorder_frames 2.
  assert.deepEqual(parseSps(sps!), {
    id: 0,
    sps: {
      profile: 100,
      log2MaxFrameNum: 4,
      pocType: 0,
      log2MaxPocLsb: 6,
      frameMbsOnly: true,
      separateColourPlane: false,
      chromaFormat: 1,
      bitDepthLuma: 8,
      bitDepthChroma: 8,
      widthInMbs: 120,
      heightInMbs: 68,
      crop: { left: 0, right: 0, top: 0, bottom: 4 },
      fullRange: undefined,
      matrixCoefficients: undefined,
      refFrames: 4,
      pocCycleLength: 0,
      aspectRatioIdc: 1,
      cpbCount: 0,
      maxNumReorderFrames: 2,
      vuiComplete: true,
    },
  });
  assert.ok(ppsAcceptable(pps!, parseSps(sps!).sps));
  assert.deepEqual(parsePps(pps!), { id: 0, pps: { spsId: 0, bottomFieldPicOrderInFramePresent: false } });
  assert.equal(avcConfigParameterSets(avcC.subarray(0, 20)), undefined);
  assert.deepEqual(nalUnits(Uint8Array.of(0, 2, 0x65, 1, 0, 1, 0x41), 2)?.length, 2);
  assert.equal(nalUnits(Uint8Array.of(0, 3, 0x65, 1), 2), undefined);
});

test('boxesIn walks boxes of 32- and 64-bit sizes and stops at one that does not fit', () => {
  const box = (type: string, content: number[]) => [0, 0, 0, 8 + content.length, ...Buffer.from(type), ...content];
  const large = [0, 0, 0, 1, ...Buffer.from('free'), 0, 0, 0, 0, 0, 0, 0, 18, 7, 7];
  const data = Uint8Array.from([...box('ftyp', [1, 2, 3, 4]), ...large, ...box('moov', [9]), 0, 0, 0, 99, ...Buffer.from('mdat')]);
  assert.deepEqual(
    boxesIn(data).map((b) => [b.type, b.start, b.end]),
    [
      ['ftyp', 8, 12],
      ['free', 28, 30],
      ['moov', 38, 39],
    ],
  );
  assert.equal(avcConfigOfMoov(Uint8Array.from(box('trak', []))), undefined);

  // A video track whose sample entry holds an avcC, and the same with a glbl before it (ffmpeg would take the glbl).
  const moov = (children: number[]) => {
    const hdlr = box('hdlr', [0, 0, 0, 0, 0, 0, 0, 0, ...Buffer.from('vide'), 0, 0, 0, 0]);
    const entry = box('avc1', [...new Array<number>(78).fill(0), ...children]);
    const stsd = box('stsd', [0, 0, 0, 0, 0, 0, 0, 1, ...entry]);
    return Uint8Array.from(box('trak', box('mdia', [...hdlr, ...box('minf', box('stbl', stsd))])));
  };
  assert.deepEqual([...avcConfigOfMoov(moov(box('avcC', [1, 2, 3])))!], [1, 2, 3]);
  assert.equal(avcConfigOfMoov(moov([...box('glbl', [4, 5, 6]), ...box('avcC', [1, 2, 3])])), undefined);
  assert.equal(avcConfigOfMoov(moov([...box('avcC', [1, 2, 3]), ...box('avcC', [1, 2, 3])])), undefined);
});

// ---- against the whole decode ----

interface Decoded {
  indices: number[];
  data: Buffer[];
  summary: DecodeSummary;
}

async function decode(path: string, sparse: boolean, options: { every?: number; region?: Rect; lastFrame?: number; count?: number } = {}): Promise<Decoded> {
  const before = process.env.DFDC_SPARSE_DECODE;
  process.env.DFDC_SPARSE_DECODE = sparse ? '1' : '0';
  try {
    const video = await decodeVideo(path, {
      every: options.every ?? 10,
      ...(options.region ? { region: options.region } : {}),
      ...(options.lastFrame === undefined ? {} : { lastFrame: options.lastFrame }),
    });
    const indices: number[] = [];
    const data: Buffer[] = [];
    for await (const frame of video.frames) {
      indices.push(frame.index);
      data.push(Buffer.from(frame.image.data));
      if (data.length === options.count) break;
    }
    return { indices, data, summary: video.summary() };
  } finally {
    if (before === undefined) delete process.env.DFDC_SPARSE_DECODE;
    else process.env.DFDC_SPARSE_DECODE = before;
  }
}

/**
 * The mismatches between a sparse and a whole decode of `path` with `options` (none expected).
 * `anyComplaint`: an error's ffmpeg line is left out of the comparison (with frame threads, which
 * of several complaints ffmpeg prints first varies from run to run of the same whole decode).
 */
async function compare(path: string, options: Parameters<typeof decode>[2] = {}, anyComplaint = false): Promise<string[]> {
  const [sparse, whole] = [await decode(path, true, options), await decode(path, false, options)];
  const label = `${path} ${JSON.stringify(options)}`;
  const mismatches: string[] = [];
  if (anyComplaint) {
    for (const summary of [sparse.summary, whole.summary]) {
      if (summary.error !== undefined) Object.assign(summary, { error: summary.error.replace(/: \[.*$/, ': [...]') });
    }
  }
  if (JSON.stringify(sparse.indices) !== JSON.stringify(whole.indices)) mismatches.push(`${label}: indices ${sparse.indices.join(',')} vs ${whole.indices.join(',')}`);
  if (JSON.stringify(sparse.summary) !== JSON.stringify(whole.summary)) mismatches.push(`${label}: summary ${JSON.stringify(sparse.summary)} vs ${JSON.stringify(whole.summary)}`);
  whole.data.forEach((data, i) => {
    if (!sparse.data[i]?.equals(data)) mismatches.push(`${label}: frame ${whole.indices[i]} differs`);
  });
  return mismatches;
}

/** Packets a sparse decode of `path` leaves out (0: it declined, or kept everything). */
async function leftOut(path: string, every = 10): Promise<number> {
  const probe = await probeVideo(path);
  const source = await prepareSparseDecode(path, probe, { every });
  if ('reason' in source) return 0;
  let tags = 0;
  for await (const chunk of source.stream()) {
    // Count FLV video tags: walk the tag sizes.
    let offset = tags === 0 ? 13 : 0;
    const data = Buffer.from(chunk);
    while (offset < data.length) {
      tags += 1;
      offset += 11 + data.readUIntBE(offset + 1, 3) + 4;
    }
  }
  const index = await probePacketIndex(path);
  return index!.pts.length - (tags - 1);
}

test('a sparse decode delivers the whole decode\'s frames: generated H.264 clips with B-frames, regions, a last frame, other steps', async (t) => {
  if (!(await canMakeH264(t))) return;
  const dir = scratchDir('sparse');
  const clips = [
    { name: 'pyramid.mp4', args: ['-bf', '3', '-b-pyramid', 'normal', '-pix_fmt', 'yuv420p'] },
    { name: 'strict-444.mp4', args: ['-bf', '2', '-b-pyramid', 'strict', '-pix_fmt', 'yuv444p', '-g', '25'] },
    { name: 'no-b-frames.mp4', args: ['-bf', '0', '-pix_fmt', 'yuv420p'] },
  ];
  const mismatches: string[] = [];
  for (const clip of clips) {
    const path = join(dir, clip.name);
    await runFfmpeg(['-f', 'lavfi', '-i', 'testsrc2=s=322x242:r=25:d=6', '-c:v', 'libx264', ...clip.args, path]);
    mismatches.push(...(await compare(path)));
    mismatches.push(...(await compare(path, { every: 7, region: { x: 31, y: 17, width: 120, height: 99 } })));
    mismatches.push(...(await compare(path, { lastFrame: 61 })));
    mismatches.push(...(await compare(path, { count: 3 })));
  }
  assert.deepEqual(mismatches, []);
  assert.ok((await leftOut(join(dir, 'pyramid.mp4'))) > 40, 'the sparse decode left nothing out of a clip with B-frames');
  assert.equal(await leftOut(join(dir, 'no-b-frames.mp4')), 0);
});

test('a sparse decode delivers the whole decode\'s frames: the sample\'s videos and real clips', async (t) => {
  const real = [
    'dfdc/abqwwspghj.mp4',
    'dfdc/yhffcuhhjy.mp4',
    'ffpp/519.mp4',
    'ffpp/FaceSwap_634_660.mp4',
    'lipsync/hyperlips_real_video1.mp4',
    'lipsync/hyperlips_fake_result_video1.mp4',
    'lipsync/obamanet_input_masked.mp4',
    'lipsync/wav2lip_fake.mp4',
    'other/street_multiface_1080p.mp4',
    'other/tv_5frames.mp4',
  ].map((name) => join(mediaDir, name));
  const present = real.filter((path) => existsSync(path));
  if (present.length < real.length) {
    if (inCi) assert.fail(`absent from ../shared/media: ${real.filter((path) => !present.includes(path)).join(', ')}`);
    t.diagnostic('real clips absent (../shared/media): only the sample\'s videos are checked');
  }
  const sample = ['real_a.mp4', 'portrait.mp4'].map((name) => join(sampleRoot, 'dfdc_train_part_0', name));
  const mismatches: string[] = [];
  for (const path of [...sample, ...present]) mismatches.push(...(await compare(path)));
  assert.deepEqual(mismatches, []);
  if (present.length > 0) assert.ok((await leftOut(present[0]!)) > 100, `nothing was left out of ${present[0]}`);
});

/** Rewrites `input`'s video timestamps with the setts filter `expression` into `output`; false (said) where this ffmpeg has no setts, outside CI. */
async function rewriteTimestamps(t: TestContext, input: string, expression: string, output: string): Promise<boolean> {
  return runFfmpeg(['-i', input, '-c', 'copy', '-bsf:v', `setts=${expression}`, output]).then(
    () => true,
    (error: unknown) => {
      if (inCi) throw error;
      t.diagnostic(`this ffmpeg cannot rewrite timestamps (setts): ${String(error).split('\n')[0]}`);
      return false;
    },
  );
}

test('hostile files: timestamps against the pictures\' order, a truncated file, an edit list: the same frames as the whole decode', async (t) => {
  if (!(await canMakeH264(t))) return;
  const dir = scratchDir('sparse-hostile');
  const clip = join(dir, 'clip.mp4');
  await runFfmpeg(['-f', 'lavfi', '-i', 'testsrc2=s=160x120:r=25:d=4', '-c:v', 'libx264', '-bf', '3', '-pix_fmt', 'yuv420p', clip]);
  const mismatches: string[] = [];

  // Two packets' presentation times swapped in the container: the decoder still shows pictures in
  // their coded order, so frame numbers by timestamp would be wrong. Packets 9 and 10 hold frames
  // around 10, a wanted one.
  const swapped = join(dir, 'swapped.mp4');
  const swappedMade = await rewriteTimestamps(t, clip, 'pts=if(eq(N\\,9)\\,NEXT_PTS\\,if(eq(N\\,10)\\,PREV_INPTS\\,PTS))', swapped);
  if (swappedMade) {
    const declined = await prepareSparseDecode(swapped, await probeVideo(swapped), { every: 2 });
    assert.match('reason' in declined ? declined.reason : 'planned', /do not rank the pictures/);
    mismatches.push(...(await compare(swapped, { every: 2 })), ...(await compare(swapped)));
  }

  // Presentation times that claim no reordering at all, on a stream with B-frames: declined, since
  // the pictures' own order (POC) disagrees; the in-process probe (src/video/mp4-probe.ts) already
  // finds no reordering in the container's times, where ffprobe's decoder sees B-frames.
  const unpyramided = join(dir, 'unpyramided.mp4');
  await runFfmpeg(['-f', 'lavfi', '-i', 'testsrc2=s=160x120:r=25:d=4', '-c:v', 'libx264', '-bf', '3', '-x264-params', 'b-pyramid=none', unpyramided]);
  const flat = join(dir, 'flat.mp4');
  const rewritten = await rewriteTimestamps(t, unpyramided, 'pts=DTS+512:dts=DTS+512', flat);
  if (rewritten) {
    const declined = await prepareSparseDecode(flat, await probeVideo(flat), { every: 2 });
    assert.match('reason' in declined ? declined.reason : 'planned', /do not rank the pictures|no B-frames/);
    mismatches.push(...(await compare(flat, { every: 2 })));
  }

  // Two clips joined without re-encoding, the second of other content and another size: frame
  // numbers run on across the join (ffmpeg would restart select's count with new filters).
  const second = join(dir, 'second.mp4');
  await runFfmpeg(['-f', 'lavfi', '-i', 'mandelbrot=s=192x108:r=25', '-t', '2', '-c:v', 'libx264', '-bf', '2', '-x264-params', 'repeat-headers=1', second]);
  const list = join(dir, 'list.txt');
  writeFileSync(list, `file '${clip}'\nfile '${second}'\n`);
  const joined = join(dir, 'joined.mp4');
  await runFfmpeg(['-f', 'concat', '-safe', '0', '-i', list, '-c', 'copy', joined]);
  const whole = await decode(joined, false, { every: 7 });
  assert.deepEqual(whole.indices, Array.from({ length: Math.ceil(150 / 7) }, (_, k) => k * 7));
  mismatches.push(...(await compare(joined, { every: 7 })), ...(await compare(joined, { every: 3 })));

  // Cut off midway: the packet index says more than the file holds.
  const truncated = join(dir, 'truncated.mp4');
  await runFfmpeg(['-i', clip, '-c', 'copy', '-movflags', '+faststart', truncated]);
  truncateSync(truncated, Math.floor(readFileSync(truncated).length * 0.6));
  mismatches.push(...(await compare(truncated, {}, true)));

  // Cut off after its packets were listed: the stream says so (and a decode hands over to the whole one).
  const shrinking = join(dir, 'shrinking.mp4');
  await runFfmpeg(['-i', clip, '-c', 'copy', '-movflags', '+faststart', shrinking]);
  const source = await prepareSparseDecode(shrinking, await probeVideo(shrinking), { every: 10 });
  assert.ok(!('reason' in source), 'no sparse decode was planned for an H.264 clip with B-frames');
  truncateSync(shrinking, Math.floor(readFileSync(shrinking).length * 0.5));
  await assert.rejects(async () => {
    for await (const chunk of source.stream()) assert.ok(chunk.length > 0);
  }, /past the end of the file/);

  // An edit list that starts after the first frames (a cut without re-encoding): ffmpeg decodes and
  // discards those; the sparse decode declines.
  const edited = join(dir, 'edited.mp4');
  await runFfmpeg(['-ss', '0.52', '-i', clip, '-c', 'copy', edited]);
  mismatches.push(...(await compare(edited)));

  // Not an MP4 at all (Matroska) and garbage: the whole decode handles them as before.
  const mkv = join(dir, 'clip.mkv');
  await runFfmpeg(['-i', clip, '-c', 'copy', mkv]);
  mismatches.push(...(await compare(mkv)));
  assert.equal(await readAvcConfig(mkv), undefined);
  const garbage = join(dir, 'garbage.mp4');
  writeFileSync(garbage, Buffer.alloc(5000, 7));
  assert.equal(await readAvcConfig(garbage), undefined);

  assert.deepEqual(mismatches, []);
});
