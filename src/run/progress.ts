/**
 * Progress of one stage: on a terminal, one line redrawn in place (videos done/total, videos/s,
 * frames/s, ETA); when not a terminal (CI, a cluster log, a pipe), a plain line now and then, so logs
 * stay readable. Messages (warnings, failures) are printed above the progress line. `quiet` prints
 * only messages. Colour only on a terminal and never with NO_COLOR set.
 */
export interface ProgressOptions {
  stream?: NodeJS.WriteStream;
  quiet?: boolean;
  /** Force terminal (true) or line (false) mode; default: the stream's isTTY. */
  tty?: boolean;
  /** Seconds between plain lines when not on a terminal. */
  lineInterval?: number;
  now?: () => number;
}

export interface ProgressCounts {
  done: number;
  total: number;
  frames: number;
}

export class Progress {
  private readonly stream: NodeJS.WriteStream;
  private readonly quiet: boolean;
  private readonly tty: boolean;
  private readonly lineIntervalMs: number;
  private readonly now: () => number;
  private stage = '';
  private counts: ProgressCounts = { done: 0, total: 0, frames: 0 };
  private startedAt = 0;
  private lastDraw = 0;
  private lineShown = false;
  /** Between start() and finish(): only then is there a progress line to draw. */
  private active = false;
  readonly color: boolean;

  constructor(options: ProgressOptions = {}) {
    this.stream = options.stream ?? process.stderr;
    this.quiet = options.quiet ?? false;
    this.tty = options.tty ?? Boolean(this.stream.isTTY);
    this.lineIntervalMs = (options.lineInterval ?? 10) * 1000;
    this.now = options.now ?? (() => Date.now());
    this.color = this.tty && !process.env.NO_COLOR;
  }

  /** Starts a stage over `total` units to do (videos, FAKEs); `note` says what else there is (units already complete). */
  start(stage: string, total: number, note = ''): void {
    this.clearLine();
    this.stage = stage;
    this.counts = { done: 0, total, frames: 0 };
    this.startedAt = this.now();
    this.lastDraw = 0;
    this.active = true;
    // On a terminal the redrawn line says as much; the stage's summary line gives the rest.
    if (!this.quiet && !this.tty) this.stream.write(`${stage}: ${total} to do${note ? ` (${note})` : ''}\n`);
    this.draw(true);
  }

  /** Adds finished units and decoded/processed frames. */
  advance(units: number, frames = 0): void {
    this.counts.done += units;
    this.counts.frames += frames;
    this.draw(false);
  }

  /** Adds frames only (a video in progress), so that frames/s moves while a long video is being detected. */
  addFrames(frames: number): void {
    this.advance(0, frames);
  }

  /** A message line (warning, failure), printed above the progress line. */
  message(line: string, kind: 'info' | 'warning' | 'error' = 'info'): void {
    this.clearLine();
    const text = this.color && kind !== 'info' ? `${kind === 'error' ? '\x1b[31m' : '\x1b[33m'}${line}\x1b[0m` : line;
    this.stream.write(`${text}\n`);
    this.draw(true);
  }

  /** A line about what the run is doing (not a problem): not printed with --quiet. */
  status(line: string): void {
    if (!this.quiet) this.message(line);
  }

  /** Ends the stage; the summary line is the caller's. */
  finish(): void {
    this.clearLine();
    if (!this.quiet && !this.tty && this.counts.total > 0) this.stream.write(`${this.render()}\n`);
    // Lines printed after the stage (its summary, the next stage's notes) must not draw its line again.
    this.active = false;
  }

  /** Seconds since the stage started. */
  elapsedSeconds(): number {
    return (this.now() - this.startedAt) / 1000;
  }

  render(): string {
    const seconds = Math.max(this.elapsedSeconds(), 1e-9);
    const { done, total, frames } = this.counts;
    const parts = [`${this.stage}: ${done}/${total}`];
    if (done > 0) parts.push(`${(done / seconds).toFixed(2)}/s`);
    if (frames > 0) parts.push(`${(frames / seconds).toFixed(1)} frames/s`);
    if (done > 0 && done < total) parts.push(`ETA ${formatDuration(((total - done) * seconds) / done)}`);
    parts.push(`elapsed ${formatDuration(seconds)}`);
    return parts.join('  ');
  }

  private draw(force: boolean): void {
    if (this.quiet || !this.active || this.counts.total === 0) return;
    const now = this.now();
    if (this.tty) {
      if (!force && now - this.lastDraw < 100) return;
      this.lastDraw = now;
      this.stream.write(`\r\x1b[2K${this.render()}`);
      this.lineShown = true;
    } else if (now - this.lastDraw >= this.lineIntervalMs && this.lastDraw !== 0) {
      this.lastDraw = now;
      this.stream.write(`${this.render()}\n`);
    } else if (this.lastDraw === 0) {
      this.lastDraw = now;
    }
  }

  private clearLine(): void {
    if (this.tty && this.lineShown) {
      this.stream.write('\r\x1b[2K');
      this.lineShown = false;
    }
  }
}

/** 75 -> "1:15", 3700 -> "1:01:40". */
export function formatDuration(seconds: number): string {
  const total = Math.max(0, Math.round(seconds));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const pad = (n: number) => String(n).padStart(2, '0');
  return h > 0 ? `${h}:${pad(m)}:${pad(s)}` : `${m}:${pad(s)}`;
}
