import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { locateFfprobe } from '../../src/video/ffmpeg-binaries.js';
import { probeMp4, type Mp4Probe } from '../../src/video/mp4-probe.js';
import { PACKET_DISCARD, PACKET_KEY, parseProbe, probeVideo } from '../../src/video/probe.js';
import { scratchDir } from '../helpers/cli.js';
import { inCi, mediaDir, parityDir, sampleRoot } from '../helpers/shared.js';
import { canMakeH264, runFfmpeg } from './synthetic-video.js';

/**
 * The in-process MP4 probe (src/video/mp4-probe.ts) against ffprobe itself: wherever it takes a
 * file, its probe and packet index must be ffprobe's, field for field and packet for packet; files
 * it cannot be sure of must be declined (and go to ffprobe).
 */

const run = promisify(execFile);

/** ffprobe's answer for `path`, in the terms of the probe and the packet index. */
async function ffprobeAnswer(path: string) {
  const ffprobePath = await locateFfprobe();
  const args = ['-v', 'error', '-print_format', 'json', '-show_streams', '-show_format', '-show_packets', '-show_entries', 'packet=pts,pos,size,flags'];
  const { stdout } = await run(ffprobePath, [...args, '-select_streams', 'v:0', path], { maxBuffer: 1 << 28 });
  const output = JSON.parse(stdout) as {
    streams: { extradata_size?: number; has_b_frames?: number }[];
    packets: { pts?: string | number; pos: string; size: string; flags: string }[];
  };
  const stream = output.streams[0]!;
  return {
    probe: parseProbe(path, stdout),
    extradataSize: stream.extradata_size,
    reordered: (stream.has_b_frames ?? 0) > 0,
    packets: output.packets.map((p) => [Number(p.pts), Number(p.pos), Number(p.size), (p.flags.includes('K') ? PACKET_KEY : 0) | (p.flags.includes('D') ? PACKET_DISCARD : 0)]),
  };
}

/** Where `read` differs from ffprobe's answer for `path` (empty when it does not). */
async function differences(path: string, read: Mp4Probe): Promise<string[]> {
  const expected = await ffprobeAnswer(path);
  const found: string[] = [];
  if (JSON.stringify(read.probe) !== JSON.stringify(expected.probe)) found.push(`${path}: probe ${JSON.stringify(read.probe)}, ffprobe ${JSON.stringify(expected.probe)}`);
  if (read.packets.extradataSize !== expected.extradataSize) found.push(`${path}: extradata ${read.packets.extradataSize}, ffprobe ${expected.extradataSize}`);
  if (read.packets.reorderDelay > 0 !== expected.reordered) found.push(`${path}: reordered ${read.packets.reorderDelay > 0}, ffprobe ${expected.reordered}`);
  const packets = Array.from(read.packets.pts, (pts, i) => [pts, read.packets.pos[i], read.packets.size[i], read.packets.flags[i]]);
  if (packets.length !== expected.packets.length) found.push(`${path}: ${packets.length} packets, ffprobe ${expected.packets.length}`);
  const first = packets.findIndex((packet, i) => JSON.stringify(packet) !== JSON.stringify(expected.packets[i]));
  if (first >= 0 && packets.length === expected.packets.length) found.push(`${path}: packet ${first} ${JSON.stringify(packets[first])}, ffprobe ${JSON.stringify(expected.packets[first])}`);
  return found;
}

function videosUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((name) => /\.(mp4|mov|m4v)$/i.test(name))
    .map((name) => join(dir, name))
    .sort();
}

test('the in-process probe gives ffprobe\'s answer for every real video it takes, and takes the DFDC ones', async (t) => {
  const videos = [...videosUnder(sampleRoot), ...videosUnder(mediaDir), ...videosUnder(join(parityDir, 'dataset_b', 'input'))];
  if (!existsSync(mediaDir)) {
    if (inCi) assert.fail(`${mediaDir} is absent`);
    t.diagnostic(`${mediaDir} is absent: only the sample's videos are checked`);
  }
  const mismatches: string[] = [];
  const declined: string[] = [];
  for (const path of videos) {
    const read = await probeMp4(path);
    if ('reason' in read) declined.push(`${path}: ${read.reason}`);
    else mismatches.push(...(await differences(path, read)));
  }
  t.diagnostic(`${videos.length - declined.length} of ${videos.length} taken; declined: ${declined.join('; ') || 'none'}`);
  assert.deepEqual(mismatches, []);
  // Declining everything would pass the comparison: the plain files must be taken.
  const mustTake = videos.filter((path) => /[/\\](dfdc|ffpp|dfdc_train_part_\d+)[/\\]/.test(path));
  assert.deepEqual(declined.filter((line) => mustTake.some((path) => line.startsWith(`${path}:`))), []);
});

test('generated files: plain ones are taken with ffprobe\'s answer, doubtful ones are declined', async (t) => {
  if (!(await canMakeH264(t))) return;
  const dir = scratchDir('mp4-probe');
  const source = ['-f', 'lavfi', '-i', 'testsrc2=s=322x242:r=25:d=3'];
  const x264Args = ['-c:v', 'libx264', '-preset', 'ultrafast', '-bf', '3'];
  const make = async (name: string, args: string[], input = source) => {
    const path = join(dir, name);
    await runFfmpeg([...input, ...args, path]);
    return path;
  };
  const taken: Record<string, string> = {
    'moov first, cropped to 322x242': await make('faststart.mp4', [...x264Args, '-pix_fmt', 'yuv420p', '-movflags', '+faststart']),
    'moov last': await make('moov-last.mp4', [...x264Args, '-pix_fmt', 'yuv420p']),
    '4:4:4': await make('444.mp4', [...x264Args, '-pix_fmt', 'yuv444p']),
    '4:2:2': await make('422.mp4', [...x264Args, '-pix_fmt', 'yuv422p']),
    'no B-frames': await make('no-b.mp4', ['-c:v', 'libx264', '-bf', '0', '-pix_fmt', 'yuv420p']),
    'with sound': await make('sound.mp4', [...x264Args, '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-shortest'], [...source, '-f', 'lavfi', '-i', 'sine=d=3']),
    'a .mov': await make('plain.mov', [...x264Args, '-pix_fmt', 'yuv420p']),
  };
  const rotated = await make('rotated.mp4', ['-c', 'copy', '-metadata:s:v', 'rotate=90'], ['-i', taken['moov last']!]);
  const truncated = await make('truncated.mp4', ['-c', 'copy'], ['-i', taken['moov first, cropped to 322x242']!]);
  truncateSync(truncated, statSync(truncated).size - 5000);
  const declined: Record<string, string> = {
    'Matroska': await make('plain.mkv', [...x264Args, '-pix_fmt', 'yuv420p']),
    'MPEG-4 part 2': await make('mpeg4.mp4', ['-c:v', 'mpeg4']),
    'fragmented': await make('fragmented.mp4', [...x264Args, '-pix_fmt', 'yuv420p', '-movflags', 'frag_keyframe+empty_moov']),
    'full range': await make('full-range.mp4', [...x264Args, '-pix_fmt', 'yuvj420p']),
    '10 bits': await make('10-bit.mp4', [...x264Args, '-pix_fmt', 'yuv420p10le']),
    'rotated': rotated,
    'two video tracks': await make('two-videos.mp4', ['-map', '0:v', '-map', '0:v', '-c', 'copy'], ['-i', taken['moov last']!]),
    'truncated (a packet past the end)': truncated,
    // Copied from mid-GOP: an edit list hides the frames before 0.5 s, which ffprobe flags discarded.
    'cut by an edit list': await make('cut.mp4', ['-c', 'copy'], ['-ss', '0.5', '-i', taken['moov last']!]),
  };
  const mismatches: string[] = [];
  for (const [what, path] of Object.entries(taken)) {
    const read = await probeMp4(path);
    if ('reason' in read) mismatches.push(`${what} declined: ${read.reason}`);
    else mismatches.push(...(await differences(path, read)));
  }
  for (const [what, path] of Object.entries(declined)) {
    const read = await probeMp4(path);
    if (!('reason' in read)) mismatches.push(`${what} taken: ${JSON.stringify(read.probe)}`);
    else t.diagnostic(`${what}: declined, ${read.reason}`);
  }
  assert.deepEqual(mismatches, []);
  // Declined files are still probed, by ffprobe, as before.
  const probe = await probeVideo(rotated);
  assert.deepEqual([probe.rotation, probe.width, probe.height], [270, 242, 322]);
});

test('DFDC_MP4_PROBE=0 leaves the probing to ffprobe, with the same answer', async (t) => {
  const path = join(sampleRoot, 'dfdc_train_part_0', 'real_a.mp4');
  const read = await probeMp4(path);
  assert.ok(!('reason' in read), `the sample's real_a.mp4 was declined: ${'reason' in read ? read.reason : ''}`);
  const before = process.env.DFDC_MP4_PROBE;
  process.env.DFDC_MP4_PROBE = '0';
  t.after(() => {
    if (before === undefined) delete process.env.DFDC_MP4_PROBE;
    else process.env.DFDC_MP4_PROBE = before;
  });
  assert.deepEqual(await probeVideo(path), (await ffprobeAnswer(path)).probe);
});

/** A box as the tests edit it: its type, and either its children (for containers) or its content. */
interface TestBox {
  type: string;
  /** Bytes before the children of a container (stsd's count, a sample entry's fields), or the whole content of a leaf. */
  head: Buffer;
  children?: TestBox[];
}

/** Containers and how many bytes of their own come before their children. */
const CONTAINERS: Record<string, number> = { moov: 0, trak: 0, mdia: 0, minf: 0, stbl: 0, edts: 0, stsd: 8, avc1: 78 };

function parseBoxes(data: Buffer): TestBox[] {
  const boxes: TestBox[] = [];
  for (let offset = 0; offset + 8 <= data.length; ) {
    const size = data.readUInt32BE(offset);
    const type = data.toString('latin1', offset + 4, offset + 8);
    const content = data.subarray(offset + 8, offset + size);
    const skip = CONTAINERS[type];
    boxes.push(skip === undefined ? { type, head: content } : { type, head: content.subarray(0, skip), children: parseBoxes(content.subarray(skip)) });
    offset += size;
  }
  return boxes;
}

function serialise(boxes: TestBox[]): Buffer {
  return Buffer.concat(
    boxes.map((box) => {
      const content = Buffer.concat([box.head, ...(box.children ? [serialise(box.children)] : [])]);
      const header = Buffer.alloc(8);
      header.writeUInt32BE(content.length + 8);
      header.write(box.type, 4, 'latin1');
      return Buffer.concat([header, content]);
    }),
  );
}

/** The first box of `type` at any depth. */
function find(boxes: TestBox[], type: string): TestBox {
  for (const box of boxes) {
    if (box.type === type) return box;
    const inner = box.children && findOrUndefined(box.children, type);
    if (inner) return inner;
  }
  throw new Error(`no ${type} box`);
}

function findOrUndefined(boxes: TestBox[], type: string): TestBox | undefined {
  try {
    return find(boxes, type);
  } catch {
    return undefined;
  }
}

test('hand-edited boxes that ffmpeg reads its own way are declined: repeats, overruns, a movie matrix, a second colr, timescales, parameter sets, stss against the bitstream', async (t) => {
  if (!(await canMakeH264(t))) return;
  const dir = scratchDir('mp4-probe-edits');
  const clip = join(dir, 'clip.mp4');
  // moov last: edits to it move no sample.
  await runFfmpeg(['-f', 'lavfi', '-i', 'testsrc2=s=160x120:r=25:d=4', '-c:v', 'libx264', '-bf', '3', '-g', '25', '-pix_fmt', 'yuv420p', clip]);
  const bytes = readFileSync(clip);
  const top = parseBoxes(bytes);
  assert.equal(top.at(-1)?.type, 'moov');
  const before = bytes.subarray(0, bytes.length - serialise([top.at(-1)!]).length);
  const edited = async (name: string, edit: (moov: TestBox[]) => void, raw?: (moov: Buffer) => Buffer) => {
    const moov = parseBoxes(serialise([top.at(-1)!]));
    edit(moov);
    const path = join(dir, `${name}.mp4`);
    writeFileSync(path, Buffer.concat([before, raw ? raw(serialise(moov)) : serialise(moov)]));
    return path;
  };

  const unchanged = await edited('unchanged', () => {});
  const read = await probeMp4(unchanged);
  assert.ok(!('reason' in read), `the unedited clip was declined: ${'reason' in read ? read.reason : ''}`);
  assert.deepEqual(await differences(unchanged, read), []);

  const cases: [string, string, RegExp][] = [
    [
      'a second stts',
      await edited('stts-twice', (moov) => {
        const stbl = find(moov, 'stbl');
        stbl.children!.push({ ...find(moov, 'stts') });
      }),
      /repeat/,
    ],
    [
      'a child box longer than its parent',
      await edited(
        'overrun',
        () => {},
        (moov) => {
          // The stss box's size grows by 4: it now ends past its stbl.
          const at = moov.indexOf('stss', 0, 'latin1') - 4;
          moov.writeUInt32BE(moov.readUInt32BE(at) + 4, at);
          return moov;
        },
      ),
      /overrun/,
    ],
    [
      'a quarter turn in the movie header',
      await edited('mvhd-rotated', (moov) => {
        const mvhd = find(moov, 'mvhd');
        const at = mvhd.head[0] === 1 ? 48 : 36;
        for (const [k, value] of [0, 0x10000, 0, -0x10000, 0, 0, 0, 0, 0x40000000].entries()) mvhd.head.writeInt32BE(value, at + 4 * k);
      }),
      /movie display matrix/,
    ],
    [
      'a second colr box, full range',
      await edited('colr-twice', (moov) => {
        const nclx = (full: boolean) => ({ type: 'colr', head: Buffer.from([...Buffer.from('nclx'), 0, 1, 0, 1, 0, 1, full ? 0x80 : 0]) });
        find(moov, 'avc1').children!.push(nclx(false), nclx(true));
      }),
      /repeat/,
    ],
    [
      'one colr box, full range, the SPS silent',
      await edited('colr-full', (moov) => {
        find(moov, 'avc1').children!.push({ type: 'colr', head: Buffer.from([...Buffer.from('nclx'), 0, 1, 0, 1, 0, 1, 0x80]) });
      }),
      /full range/,
    ],
    [
      'a track timescale of 2^31 (ffmpeg reads it as negative and replaces it)',
      await edited('mdhd-timescale', (moov) => {
        const mdhd = find(moov, 'mdhd');
        mdhd.head.writeUInt32BE(2 ** 31, mdhd.head[0] === 1 ? 20 : 12);
      }),
      /timescale/,
    ],
    [
      'an avcC without its PPS (the decoder would wait for one in the stream)',
      await edited('no-pps', (moov) => {
        const avcC = find(moov, 'avcC');
        const spsLength = avcC.head.readUInt16BE(6);
        avcC.head = Buffer.concat([avcC.head.subarray(0, 8 + spsLength), Buffer.from([0])]);
      }),
      /PPS/,
    ],
    [
      'stss listing every sample',
      await edited('stss-all', (moov) => {
        const count = find(moov, 'stsz').head.readUInt32BE(8);
        const stss = Buffer.alloc(8 + 4 * count);
        stss.writeUInt32BE(count, 4);
        for (let i = 0; i < count; i++) stss.writeUInt32BE(i + 1, 8 + 4 * i);
        find(moov, 'stss').head = stss;
      }),
      /not an IDR/,
    ],
    [
      'stss without the first sample',
      await edited('stss-not-first', (moov) => {
        const stss = find(moov, 'stss');
        const count = stss.head.readUInt32BE(4);
        stss.head = Buffer.concat([stss.head.subarray(0, 4), Buffer.from([0, 0, 0, count - 1]), stss.head.subarray(12)]);
      }),
      /first packet is not a sync sample/,
    ],
  ];
  const wrong: string[] = [];
  for (const [what, path, reason] of cases) {
    const result = await probeMp4(path);
    if (!('reason' in result)) wrong.push(`${what}: taken`);
    else if (!reason.test(result.reason)) wrong.push(`${what}: declined for another reason (${result.reason})`);
  }
  assert.deepEqual(wrong, []);
});
