import type { ReportEntry } from '../run/report.js';

/**
 * The HTML report page (pure: data in, one HTML string out). It is a single file that works offline:
 * CSS inline, no script, no web font, no network; images are <img> elements whose `src` the loader
 * made relative to the page, landmarks are inline SVG circles over the crop in the crop's own pixel
 * coordinates (viewBox = crop size). Every piece of text is escaped: ids, subjects and reasons come
 * from user data.
 *
 * Stable hooks for tests and scripts: `section.video[data-video]`, `figure.crop[data-cell]` holding
 * `svg.landmarks` (5 circles), `figure.fake[data-video][data-cell]`, `figure.diff[data-video][data-cell]`,
 * `table.counts`, `table.failures tr[data-stage][data-subject][data-kind]`, `table.problems tr[data-subject]`.
 */

/** An image on the page, or the caption said where it is missing. */
export type Picture = { kind: 'image'; src: string; width: number; height: number } | { kind: 'missing'; caption: string };

/** The five landmark points of a crop ([x, y] in crop pixels), or why there are none. */
export type LandmarkPoints = { kind: 'points'; points: readonly (readonly [number, number])[] } | { kind: 'missing'; caption: string };

export interface FakeCellView {
  readonly id: string;
  readonly crop: Picture;
  readonly diff: Picture;
}

/** One (frame, actor) cell of a video's strip. */
export interface CellView {
  readonly frame: number;
  readonly actor: number;
  /** The REAL's crop. */
  readonly crop: Picture;
  readonly landmarks: LandmarkPoints;
  /** The same cell of each FAKE, in the order of VideoView.fakes. */
  readonly fakes: readonly FakeCellView[];
}

export interface VideoView {
  readonly id: string;
  /** The part folder name. */
  readonly part: string;
  /** Grid crops (frames 0..310 step 10, actors 0 and 1) present for this REAL. */
  readonly gridCrops: number;
  /** Landmark files present for this REAL. */
  readonly landmarkFiles: number;
  readonly fakes: readonly { readonly id: string; readonly part: string }[];
  /** The strip: at most a few cells spread over the clip. */
  readonly cells: readonly CellView[];
}

export interface StageCounts {
  readonly done: number;
  readonly skipped: number;
  /** Units whose inputs an earlier stage had not made. */
  readonly waiting: number;
  readonly failed: number;
  readonly warnings: number;
  readonly frames: number;
  readonly seconds: number;
}

export interface StageView {
  readonly name: string;
  readonly counts: StageCounts;
  readonly failures: readonly ReportEntry[];
  readonly warnings: readonly ReportEntry[];
  /** The report of a whole run that redid this shard's stage later: its failures and warnings are not shown. */
  readonly supersededBy?: string;
  readonly startedAt?: string;
  readonly finishedAt?: string;
  readonly partial?: boolean;
}

/** One run report file of the output folder (`run-report.json` or a shard's). */
export interface RunReportView {
  readonly file: string;
  readonly version: string | undefined;
  readonly startedAt: string | undefined;
  readonly finishedAt: string | undefined;
  readonly stages: readonly StageView[];
}

export interface ReportTotals {
  readonly videos: number;
  readonly reals: number;
  readonly fakes: number;
  readonly videosWithCrops: number;
  readonly crops: number;
  readonly landmarks: number;
  readonly diffs: number;
}

export interface ReportPageData {
  readonly generatedAt: Date;
  readonly rootDir: string;
  readonly outputDir: string;
  readonly cropsDir: string;
  readonly totals: ReportTotals;
  /** How the videos were chosen: named with --videos, or a sample of `limit` among `candidates`. */
  readonly selection: { readonly named: true } | { readonly named: false; readonly limit: number; readonly candidates: number };
  readonly videos: readonly VideoView[];
  readonly runReports: readonly RunReportView[];
  /** Report files that could not be read (subject: the file name). */
  readonly unreadableReports: readonly ReportEntry[];
  /** Problems of the data set (metadata.json files and records). */
  readonly problems: readonly ReportEntry[];
  /** `<part>/<name>` of the listed videos whose file is missing. */
  readonly missingVideos: readonly string[];
  /** What lists them (Dataset.listName): `metadata.json`, `dataset.json`, the manifest's file. */
  readonly listName: string;
}

/** Stages in pipeline order; any other stage name found in a report comes after, by name. */
const STAGE_ORDER = ['detect', 'crops', 'landmarks', 'diffs', 'folds'];

/** The landmark points in the reference's order, with the colour each is drawn in. */
export const LANDMARK_NAMES = ['left eye', 'right eye', 'nose', 'mouth left', 'mouth right'] as const;
const LANDMARK_COLOURS = ['#e6194b', '#3cb44b', '#ffe119', '#4363d8', '#f032e6'] as const;

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Text made safe for HTML content and double- or single-quoted attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]!);
}

const count = (n: number) => n.toLocaleString('en-US');

function stageRank(name: string): [number, string] {
  const index = STAGE_ORDER.indexOf(name);
  return [index === -1 ? STAGE_ORDER.length : index, name];
}

/** Stage names present in any report, in pipeline order. */
function stageNames(reports: readonly RunReportView[]): string[] {
  const names = [...new Set(reports.flatMap((report) => report.stages.map((stage) => stage.name)))];
  return names.sort((a, b) => {
    const [ra, na] = stageRank(a);
    const [rb, nb] = stageRank(b);
    return ra - rb || (na < nb ? -1 : na > nb ? 1 : 0);
  });
}

const STYLE = `
:root { --thumb: clamp(72px, calc((100vw - 220px) / 13), 160px); color-scheme: light; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1b1b1b; background: #fafafa; }
header, main { padding: 0 24px; }
header { background: #fff; border-bottom: 1px solid #ddd; padding-bottom: 12px; }
h1 { font-size: 22px; margin: 0; padding: 16px 0 8px; }
h2 { font-size: 18px; margin: 28px 0 8px; border-bottom: 1px solid #ddd; padding-bottom: 4px; }
h3 { font-size: 15px; margin: 0 0 6px; }
h3 .meta { font-weight: normal; color: #555; font-size: 13px; }
code { font: 12px/1.4 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; word-break: break-all; }
dl.summary { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; margin: 0 0 10px; }
dl.summary dt { color: #555; }
dl.summary dd { margin: 0; }
nav a { margin-right: 16px; }
table { border-collapse: collapse; background: #fff; margin: 4px 0 8px; }
th, td { border: 1px solid #ddd; padding: 3px 8px; text-align: left; vertical-align: top; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
table.totals td { font-variant-numeric: tabular-nums; }
tbody th[colspan] { background: #f0f0f0; }
tr.failure td.kind { color: #b00020; font-weight: 600; }
tr.warning td.kind { color: #8a5a00; }
td.reason { max-width: 70ch; }
p.none { color: #2e7d32; }
.legend span { display: inline-block; margin-right: 14px; }
.legend i { display: inline-block; width: 10px; height: 10px; border-radius: 50%; margin-right: 4px; border: 1px solid #333; vertical-align: -1px; }
section.video { background: #fff; border: 1px solid #ddd; border-radius: 4px; padding: 10px 12px; margin: 12px 0; }
.strip-wrap { overflow-x: auto; }
table.strip { border: 0; }
table.strip th, table.strip td { border: 0; padding: 2px 4px; }
table.strip td { white-space: nowrap; }
table.strip th[scope=row] { font-weight: normal; color: #555; white-space: nowrap; font-size: 12px; max-width: 14ch; overflow: hidden; text-overflow: ellipsis; }
table.strip thead th { font-weight: normal; color: #555; font-size: 12px; text-align: center; }
figure { display: inline-block; margin: 0; vertical-align: top; text-align: center; }
figure + figure { margin-left: 3px; }
figcaption { font-size: 11px; color: #555; max-width: calc(var(--thumb) * 1.2); }
.thumb { position: relative; display: inline-block; line-height: 0; background: #222; }
.thumb img { display: block; height: var(--thumb); width: auto; image-rendering: auto; }
.thumb svg.landmarks { position: absolute; inset: 0; width: 100%; height: 100%; }
.missing { display: flex; align-items: center; justify-content: center; height: var(--thumb); width: calc(var(--thumb) * 0.8); background: repeating-linear-gradient(45deg, #f3f3f3 0 6px, #e8e8e8 6px 12px); color: #666; font-size: 11px; line-height: 1.2; padding: 4px; border: 1px dashed #bbb; }
figcaption .note { color: #b00020; }
`;

/** The whole page. */
export function buildReportPage(data: ReportPageData): string {
  const title = `dfdc report: ${data.rootDir}`;
  return [
    '<!doctype html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeHtml(title)}</title>`,
    `<style>${STYLE}</style>`,
    '</head>',
    '<body>',
    header(data),
    '<main>',
    countsSection(data),
    failuresSection(data),
    problemsSection(data),
    videosSection(data),
    '</main>',
    '</body>',
    '</html>',
    '',
  ].join('\n');
}

function header(data: ReportPageData): string {
  const t = data.totals;
  const failures = data.runReports.reduce((sum, report) => sum + report.stages.reduce((s, stage) => s + stage.failures.length, 0), 0);
  const warnings = data.runReports.reduce((sum, report) => sum + report.stages.reduce((s, stage) => s + stage.warnings.length, 0), 0);
  const iso = data.generatedAt.toISOString();
  return [
    '<header>',
    '<h1>dfdc report</h1>',
    '<dl class="summary">',
    `<dt>Data set</dt><dd><code class="root-dir">${escapeHtml(data.rootDir)}</code></dd>`,
    `<dt>Output folder</dt><dd><code class="output-dir">${escapeHtml(data.outputDir)}</code></dd>`,
    `<dt>Crops folder</dt><dd><code class="crops-dir">${escapeHtml(data.cropsDir)}</code></dd>`,
    `<dt>Generated</dt><dd class="generated"><time datetime="${iso}">${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC</time></dd>`,
    '</dl>',
    '<table class="totals">',
    '<caption>Totals</caption>',
    '<tr><th scope="col">videos</th><th scope="col">REAL</th><th scope="col">FAKE</th><th scope="col">with crops</th><th scope="col">crops</th><th scope="col">landmarks</th><th scope="col">diff masks</th><th scope="col">failures</th><th scope="col">warnings</th><th scope="col">data set problems</th></tr>',
    `<tr>${[t.videos, t.reals, t.fakes, t.videosWithCrops, t.crops, t.landmarks, t.diffs, failures, warnings, data.problems.length]
      .map((n, i) => `<td class="n" data-total="${TOTAL_KEYS[i]}">${count(n)}</td>`)
      .join('')}</tr>`,
    '</table>',
    '<nav><a href="#counts">Counts per stage</a><a href="#failures">Failures and warnings</a><a href="#problems">Data set problems</a><a href="#videos">Videos</a></nav>',
    '</header>',
  ].join('\n');
}

const TOTAL_KEYS = ['videos', 'reals', 'fakes', 'videos-with-crops', 'crops', 'landmarks', 'diffs', 'failures', 'warnings', 'problems'];

function countsSection(data: ReportPageData): string {
  const lines = ['<section id="counts">', '<h2>Counts per stage</h2>'];
  if (data.runReports.length === 0) {
    lines.push('<p>No run report (<code>run-report*.json</code>) in the output folder.</p>');
  } else {
    lines.push(
      '<ul class="reports">',
      ...data.runReports.map(
        (report) =>
          `<li><code>${escapeHtml(report.file)}</code>${report.version ? ` (dfdc ${escapeHtml(report.version)})` : ''}${
            report.startedAt ? `, started ${escapeHtml(report.startedAt)}` : ''
          }${report.finishedAt ? `, finished ${escapeHtml(report.finishedAt)}` : ''}</li>`,
      ),
      '</ul>',
      '<table class="counts">',
      '<thead><tr><th scope="col">stage</th><th scope="col">report</th><th scope="col" class="n">done</th><th scope="col" class="n">skipped</th><th scope="col" class="n">waiting</th><th scope="col" class="n">failed</th><th scope="col" class="n">warnings</th><th scope="col" class="n">frames</th><th scope="col" class="n">seconds</th></tr></thead>',
      '<tbody>',
    );
    for (const name of stageNames(data.runReports)) {
      for (const report of data.runReports) {
        const stage = report.stages.find((s) => s.name === name);
        if (!stage) continue;
        const c = stage.counts;
        lines.push(
          `<tr data-stage="${escapeHtml(name)}" data-report="${escapeHtml(report.file)}"><th scope="row">${escapeHtml(name)}</th><td><code>${escapeHtml(report.file)}</code>${
            stage.supersededBy ? ` (redone by <code>${escapeHtml(stage.supersededBy)}</code>: its failures are not counted)` : ''
          }</td>${[
            c.done,
            c.skipped,
            c.waiting,
            c.failed,
            c.warnings,
            c.frames,
          ]
            .map((n) => `<td class="n">${count(n)}</td>`)
            .join('')}<td class="n">${c.seconds.toFixed(1)}</td></tr>`,
        );
      }
    }
    lines.push('</tbody>', '</table>');
  }
  if (data.unreadableReports.length > 0) {
    lines.push(
      '<table class="unreadable-reports">',
      '<caption>Run reports that could not be read</caption>',
      '<thead><tr><th scope="col">file</th><th scope="col">why</th></tr></thead>',
      '<tbody>',
      ...data.unreadableReports.map((p) => `<tr data-subject="${escapeHtml(p.subject)}"><td><code>${escapeHtml(p.subject)}</code></td><td>${escapeHtml(p.reason)}</td></tr>`),
      '</tbody>',
      '</table>',
    );
  }
  lines.push('</section>');
  return lines.join('\n');
}

function failuresSection(data: ReportPageData): string {
  const lines = ['<section id="failures">', '<h2>Failures and warnings</h2>'];
  const groups = stageNames(data.runReports)
    .map((name) => ({
      name,
      rows: data.runReports.flatMap((report) => {
        const stage = report.stages.find((s) => s.name === name);
        if (!stage) return [];
        return [
          ...stage.failures.map((problem) => ({ kind: 'failure', problem, file: report.file })),
          ...stage.warnings.map((problem) => ({ kind: 'warning', problem, file: report.file })),
        ];
      }),
    }))
    .filter((group) => group.rows.length > 0);
  if (groups.length === 0) {
    lines.push(`<p class="none">No failures or warnings${data.runReports.length === 0 ? ' (no run report to read)' : ''}.</p>`, '</section>');
    return lines.join('\n');
  }
  lines.push(
    '<table class="failures">',
    '<thead><tr><th scope="col">kind</th><th scope="col">subject</th><th scope="col">reason</th><th scope="col">report</th></tr></thead>',
  );
  for (const group of groups) {
    const stage = escapeHtml(group.name);
    const failed = group.rows.filter((row) => row.kind === 'failure').length;
    lines.push(
      `<tbody data-stage="${stage}">`,
      `<tr><th colspan="4" scope="rowgroup">${stage}: ${count(failed)} failure(s), ${count(group.rows.length - failed)} warning(s)</th></tr>`,
      ...group.rows.map(
        ({ kind, problem, file }) =>
          `<tr class="${kind}" data-stage="${stage}" data-kind="${kind}" data-subject="${escapeHtml(problem.subject)}"><td class="kind">${kind}</td><td><code>${escapeHtml(
            problem.subject,
          )}</code></td><td class="reason">${escapeHtml(problem.reason)}</td><td><code>${escapeHtml(file)}</code></td></tr>`,
      ),
      '</tbody>',
    );
  }
  lines.push('</table>', '</section>');
  return lines.join('\n');
}

function problemsSection(data: ReportPageData): string {
  const lines = ['<section id="problems">', '<h2>Data set problems</h2>'];
  if (data.problems.length === 0) {
    lines.push('<p class="none">No problem in the metadata.</p>');
  } else {
    lines.push(
      '<table class="problems">',
      '<thead><tr><th scope="col">file</th><th scope="col">problem</th></tr></thead>',
      '<tbody>',
      ...data.problems.map(
        (p) => `<tr data-subject="${escapeHtml(p.subject)}"><td><code>${escapeHtml(p.subject)}</code></td><td class="reason">${escapeHtml(p.reason)}</td></tr>`,
      ),
      '</tbody>',
      '</table>',
    );
  }
  if (data.missingVideos.length > 0) {
    lines.push(
      '<details class="missing-videos">',
      `<summary>${count(data.missingVideos.length)} video file(s) listed in ${escapeHtml(data.listName)} are missing (stages that decode videos skip them)</summary>`,
      '<ul>',
      ...data.missingVideos.map((name) => `<li><code>${escapeHtml(name)}</code></li>`),
      '</ul>',
      '</details>',
    );
  }
  lines.push('</section>');
  return lines.join('\n');
}

function videosSection(data: ReportPageData): string {
  const how = data.selection.named
    ? `The ${count(data.videos.length)} video(s) named with <code>--videos</code>.`
    : `${count(data.videos.length)} of the ${count(data.selection.candidates)} REAL video(s) with crops (at most <code>--limit</code> ${count(
        data.selection.limit,
      )}), chosen by a hash of the id: the same sample on every run, spread over the parts.`;
  const legend = LANDMARK_NAMES.map((name, i) => `<span><i style="background:${LANDMARK_COLOURS[i]}"></i>${name}</span>`).join('');
  return [
    '<section id="videos">',
    '<h2>Videos</h2>',
    `<p>${how} Each strip shows up to a few frames of the REAL with its landmarks, then for each FAKE its crop of the same frame beside its SSIM diff mask.</p>`,
    `<p class="legend">${legend}</p>`,
    ...data.videos.map(videoSection),
    '</section>',
  ].join('\n');
}

function videoSection(video: VideoView): string {
  const id = escapeHtml(video.id);
  const meta = `${escapeHtml(video.part)} · REAL · ${count(video.gridCrops)} grid crop(s) · ${count(video.landmarkFiles)} landmark file(s) · ${count(video.fakes.length)} FAKE(s)`;
  const lines = [`<section class="video" data-video="${id}" aria-labelledby="v-${id}">`, `<h3 id="v-${id}">${id} <span class="meta">${meta}</span></h3>`];
  if (video.cells.length === 0) {
    lines.push(`<p class="no-crops">No crops of this video in the crops folder (no face found, or dfdc crops has not run on it).</p>`, '</section>');
    return lines.join('\n');
  }
  lines.push(
    '<div class="strip-wrap">',
    '<table class="strip">',
    `<thead><tr><td></td>${video.cells.map((cell) => `<th scope="col">frame ${cell.frame}, actor ${cell.actor}</th>`).join('')}</tr></thead>`,
    '<tbody>',
    `<tr class="real"><th scope="row" title="${id}">REAL</th>${video.cells.map((cell) => `<td>${realFigure(video.id, cell)}</td>`).join('')}</tr>`,
    ...video.fakes.map((fake, f) => {
      const fakeId = escapeHtml(fake.id);
      return `<tr class="fake" data-fake="${fakeId}"><th scope="row" title="${fakeId} (${escapeHtml(fake.part)})">${fakeId}</th>${video.cells
        .map((cell) => `<td>${fakeFigures(cell, cell.fakes[f]!)}</td>`)
        .join('')}</tr>`;
    }),
    '</tbody>',
    '</table>',
    '</div>',
    '</section>',
  );
  return lines.join('\n');
}

function cellName(cell: { frame: number; actor: number }): string {
  return `${cell.frame}_${cell.actor}`;
}

function picture(image: Picture, alt: string, overlay = ''): string {
  if (image.kind === 'missing') return `<div class="missing" role="img" aria-label="${escapeHtml(`${alt}: ${image.caption}`)}">none</div>`;
  return `<div class="thumb"><img src="${escapeHtml(image.src)}" width="${image.width}" height="${image.height}" alt="${escapeHtml(alt)}" decoding="async">${overlay}</div>`;
}

function realFigure(videoId: string, cell: CellView): string {
  const name = cellName(cell);
  const { crop, landmarks } = cell;
  let overlay = '';
  let note = '';
  if (crop.kind === 'image') {
    if (landmarks.kind === 'points') {
      overlay = landmarksSvg(crop.width, crop.height, landmarks.points);
      const outside = landmarks.points.filter(([x, y]) => x < 0 || y < 0 || x >= crop.width || y >= crop.height).length;
      if (outside > 0) note = `${outside} landmark(s) outside the crop`;
    } else {
      note = landmarks.caption;
    }
  }
  const caption = crop.kind === 'image' ? `${name} · ${crop.width}×${crop.height}` : `${name}: ${crop.caption}`;
  return `<figure class="crop" data-cell="${name}">${picture(crop, `${videoId} frame ${cell.frame} actor ${cell.actor}, crop`, overlay)}<figcaption>${escapeHtml(caption)}${
    note ? `<br><span class="note">${escapeHtml(note)}</span>` : ''
  }</figcaption></figure>`;
}

function landmarksSvg(width: number, height: number, points: readonly (readonly [number, number])[]): string {
  const radius = Math.max(1.5, Math.min(width, height) / 30);
  const stroke = Math.max(0.5, radius / 4);
  const circles = points.map(
    ([x, y], i) =>
      `<circle cx="${x}" cy="${y}" r="${radius.toFixed(1)}" fill="${LANDMARK_COLOURS[i % LANDMARK_COLOURS.length]}" stroke="#000" stroke-width="${stroke.toFixed(1)}"><title>${
        LANDMARK_NAMES[i] ?? `point ${i}`
      } (${x}, ${y})</title></circle>`,
  );
  return `<svg class="landmarks" viewBox="0 0 ${width} ${height}" preserveAspectRatio="none" role="img" aria-label="${points.length} landmarks">${circles.join('')}</svg>`;
}

function fakeFigures(cell: CellView, fake: FakeCellView): string {
  const name = cellName(cell);
  const alt = `${fake.id} frame ${cell.frame} actor ${cell.actor}`;
  const caption = (image: Picture, what: string) => (image.kind === 'image' ? what : `${what}: ${image.caption}`);
  return [
    `<figure class="fake" data-video="${escapeHtml(fake.id)}" data-cell="${name}">${picture(fake.crop, `${alt}, crop`)}<figcaption>${escapeHtml(caption(fake.crop, 'crop'))}</figcaption></figure>`,
    `<figure class="diff" data-video="${escapeHtml(fake.id)}" data-cell="${name}">${picture(fake.diff, `${alt}, diff mask`)}<figcaption>${escapeHtml(caption(fake.diff, 'diff'))}</figcaption></figure>`,
  ].join('');
}
