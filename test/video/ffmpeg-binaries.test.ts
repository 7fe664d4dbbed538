import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  describeFfmpeg,
  locateFfmpeg,
  locateFfprobe,
  parseFfmpegVersion,
  parseLibraryVersion,
  showinfoFilter,
  supportsFpsMode,
  type FfmpegBinaries,
} from '../../src/video/ffmpeg-binaries.js';

const debian = `ffmpeg version 5.1.9-0+deb12u1 Copyright (c) 2000-2026 the FFmpeg developers
built with gcc 12 (Debian 12.2.0-14+deb12u1)
libavutil      57. 28.100 / 57. 28.100
libavcodec     59. 37.100 / 59. 37.100
`;
const static41 = `ffmpeg version N-47683-g0e8eb07980-static https://johnvansickle.com/ffmpeg/  Copyright (c) 2000-2018 the FFmpeg developers
libavutil      56. 24.101 / 56. 24.101
libavfilter     7. 46.101 /  7. 46.101
`;

test('showinfo without checksums from libavfilter 7.46 on, with them on older or unknown builds', () => {
  assert.deepEqual(parseLibraryVersion(static41, 'libavfilter'), [7, 46]);
  assert.equal(parseLibraryVersion(debian, 'libavfilter'), null);
  assert.equal(showinfoFilter([7, 46]), 'showinfo=checksum=0');
  assert.equal(showinfoFilter([8, 44]), 'showinfo=checksum=0');
  assert.equal(showinfoFilter([7, 40]), 'showinfo');
  assert.equal(showinfoFilter([6, 107]), 'showinfo');
  assert.equal(showinfoFilter(null), 'showinfo');
});

test('every ffmpeg here runs the showinfo filter chosen for it', async () => {
  const found = await locateFfmpeg();
  const npm = fileURLToPath(new URL('../../../node_modules/@ffmpeg-installer/linux-x64/ffmpeg', import.meta.url));
  const builds = [found.ffmpegPath, ...(existsSync(npm) && npm !== found.ffmpegPath ? [npm] : [])];
  for (const ffmpeg of builds) {
    const run = (args: string[]) =>
      new Promise<string>((resolve, reject) => execFile(ffmpeg, args, (error, stdout, stderr) => (error ? reject(new Error(`${ffmpeg}: ${stderr}`)) : resolve(stdout))));
    const filter = showinfoFilter(parseLibraryVersion(await run(['-version']), 'libavfilter'));
    if (ffmpeg === found.ffmpegPath) assert.equal(filter, found.showinfoFilter);
    await run(['-nostdin', '-v', 'error', '-f', 'lavfi', '-i', 'testsrc=s=64x48:r=5', '-frames:v', '2', '-vf', filter, '-f', 'null', '-']);
  }
});

test('the version line and libavutil are parsed; -fps_mode only from ffmpeg 5.1 / libavutil 57.28 on', () => {
  assert.equal(parseFfmpegVersion(debian), '5.1.9-0+deb12u1');
  assert.equal(parseFfmpegVersion(static41), 'N-47683-g0e8eb07980-static');
  assert.equal(parseFfmpegVersion('garbage'), 'unknown');
  assert.deepEqual(parseLibraryVersion(debian, 'libavutil'), [57, 28]);
  assert.deepEqual(parseLibraryVersion(static41, 'libavutil'), [56, 24]);
  assert.equal(parseLibraryVersion('ffmpeg version 6.0', 'libavutil'), null);
  assert.equal(supportsFpsMode('5.1.9-0+deb12u1', [57, 28]), true);
  assert.equal(supportsFpsMode('N-47683-g0e8eb07980-static', [56, 24]), false);
  assert.equal(supportsFpsMode('N-1-g1', [58, 2]), true);
  assert.equal(supportsFpsMode('5.0.1', [57, 17]), false);
  assert.equal(supportsFpsMode('6.1', null), true);
  assert.equal(supportsFpsMode('4.4.2', null), false);
  assert.equal(supportsFpsMode('N-1-g1', null), false);
});

test('locateFfmpeg finds working binaries, once, and describes them in one line', async () => {
  const found = await locateFfmpeg();
  assert.equal(await locateFfmpeg(), found);
  assert.ok(existsSync(found.ffmpegPath) && existsSync(await locateFfprobe()));
  assert.ok(['env', 'system', 'npm'].includes(found.source));
  assert.notEqual(found.version, 'unknown');
  assert.match(describeFfmpeg(found), /^ffmpeg \S+ from (FFMPEG_PATH|PATH|the @ffmpeg-installer npm package) \(.+\)$/);
  assert.ok(['-fps_mode', '-vsync'].includes(found.passthroughArgs[0]!));
});

const moduleUrl = new URL('../../src/video/ffmpeg-binaries.js', import.meta.url).href;

/** locateFfmpeg in a fresh process with `env`: its result, or its error's name, exit code and message. */
function locateIn(env: NodeJS.ProcessEnv): Promise<Partial<FfmpegBinaries> & { ffprobePath?: string; error?: { name: string; exitCode: number; message: string } }> {
  const script = `
    const { locateFfmpeg, locateFfprobe } = await import(${JSON.stringify(moduleUrl)});
    try { console.log(JSON.stringify({ ...(await locateFfmpeg()), ffprobePath: await locateFfprobe() })); }
    catch (e) { console.log(JSON.stringify({ error: { name: e.name, exitCode: e.exitCode, message: e.message } })); }`;
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['--input-type=module', '-e', script], { env }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${error.message}\n${stderr}`));
      else resolve(JSON.parse(stdout) as Partial<FfmpegBinaries>);
    });
  });
}

test('FFMPEG_PATH wins; a broken one is a one-line fatal error that names it', async () => {
  const { ffmpegPath } = await locateFfmpeg();
  const ffprobePath = await locateFfprobe();
  const viaEnv = await locateIn({ ...process.env, FFMPEG_PATH: ffmpegPath, FFPROBE_PATH: ffprobePath });
  assert.equal(viaEnv.source, 'env');
  assert.equal(viaEnv.ffmpegPath, ffmpegPath);
  const broken = await locateIn({ ...process.env, FFMPEG_PATH: '/nonexistent/ffmpeg' });
  assert.equal(broken.error?.name, 'FatalError');
  assert.equal(broken.error?.exitCode, 3);
  assert.match(broken.error?.message ?? '', /^FFMPEG_PATH=\/nonexistent\/ffmpeg does not run .*unset it$/);
});

test('with nothing on PATH, the binaries of the npm packages are used', async (t) => {
  const shipped = fileURLToPath(new URL('../../../node_modules/@ffmpeg-installer/ffmpeg/package.json', import.meta.url));
  if (!existsSync(shipped)) return t.skip('@ffmpeg-installer/ffmpeg is not installed here');
  const env: NodeJS.ProcessEnv = { ...process.env, PATH: '' };
  delete env.FFMPEG_PATH;
  delete env.FFPROBE_PATH;
  const found = await locateIn(env);
  assert.equal(found.error, undefined);
  assert.equal(found.source, 'npm');
  assert.match(found.ffmpegPath ?? '', /@ffmpeg-installer/);
  assert.match(found.ffprobePath ?? '', /@ffprobe-installer/);
});

test('on Linux x64 the npm ffmpeg comes before the one on PATH (the build checked against the reference\'s); ffprobe keeps PATH first', async (t) => {
  const shipped = fileURLToPath(new URL('../../../node_modules/@ffmpeg-installer/linux-x64/ffmpeg', import.meta.url));
  if (process.platform !== 'linux' || process.arch !== 'x64') return t.skip('the npm ffmpeg comes first only on Linux x64');
  if (!existsSync(shipped)) return t.skip('@ffmpeg-installer/linux-x64 is not installed here');
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.FFMPEG_PATH;
  delete env.FFPROBE_PATH;
  const found = await locateIn(env);
  assert.equal(found.error, undefined);
  assert.equal(found.source, 'npm');
  assert.equal(realpathSync(found.ffmpegPath!), realpathSync(shipped));
  const systemProbe = (process.env.PATH ?? '').split(':').filter((dir) => dir.startsWith('/')).map((dir) => join(dir, 'ffprobe')).find((path) => existsSync(path));
  if (systemProbe) assert.equal(found.ffprobePath, systemProbe);
  else assert.match(found.ffprobePath ?? '', /@ffprobe-installer/);
});
