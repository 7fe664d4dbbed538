import { randomBytes } from 'node:crypto';
import { link, open, readdir, readFile, rename, stat, unlink, utimes } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { makeFolder } from '../util/atomic-write.js';
import { boundedFileName } from '../util/file-names.js';
import { FatalError, messageOf } from '../util/errors.js';
import { pidNamespace, processExists, processStartTime } from '../util/processes.js';

/**
 * Claims: no unit is worked on by two processes at once (the same command started twice, two
 * tasks given one shard). Before a unit's work, its process creates
 * `.run-state/claims/<stage>/<unit>.json` with exclusive create (one of two processes wins, on
 * local disks and NFS alike), holding its host, pid namespace, pid, start time and a token; the
 * file's modification time is its heartbeat, renewed every HEARTBEAT_MS while the process runs.
 * The claim is removed when the unit is done or failed. A claim is stale, and may be taken over,
 * when its process is gone: where its pid can be seen (same host and pid namespace), when no
 * process has that pid or one started at another time has it; elsewhere (a node that died, a job
 * killed with SIGKILL), when its heartbeat is older than STALE_MS (docs/completion.md, "Two
 * processes").
 */

export const HEARTBEAT_MS = 15_000;
export const STALE_MS = 60_000;
/**
 * A claim file with no content is one whose writer died between creating and writing it (kill -9),
 * or one whose writer is in that sub-millisecond gap now: after this long without content it is
 * no one's. (Its heartbeat, the modification time, cannot say: it was never written.)
 */
export const CUT_SHORT_MS = 2_000;

interface ClaimFile {
  host: string;
  pid: number;
  token: string;
  since: string;
  /** The holder's pid namespace (pidNamespace), where /proc says. */
  pidns?: string;
  /** The holder's start time (processStartTime), where /proc says. */
  started?: number;
}

/** Who holds a claim, for the message of a unit left to it. */
export interface Holder {
  readonly host: string;
  readonly pid: number;
  /**
   * For a claim of another host, the milliseconds until it lapses if its process has stopped (a
   * node that died sends no heartbeat): a rerun after that takes the unit over.
   */
  readonly lapsesInMs?: number;
}

export class UnitClaims {
  private readonly held = new Map<string, string>();
  /** Stages whose claims folder exists: made once, not once per unit. */
  private readonly folders = new Set<string>();
  private readonly heartbeat: NodeJS.Timeout;
  private readonly host = hostname();
  private readonly pidns = pidNamespace();
  private readonly started = processStartTime(process.pid);

  constructor(
    private readonly stateDir: string,
    private readonly now: () => number = Date.now,
  ) {
    this.heartbeat = setInterval(() => void this.beat(), HEARTBEAT_MS);
    this.heartbeat.unref();
  }

  private pathOf(stage: string, unit: string): string {
    return join(this.stateDir, 'claims', stage, boundedFileName(`${unit}.json`));
  }

  /** Claims a unit: true when this process may work on it, else who holds it. */
  async take(stage: string, unit: string): Promise<true | Holder> {
    const path = this.pathOf(stage, unit);
    if (!this.folders.has(stage)) {
      await makeFolder(join(this.stateDir, 'claims', stage));
      this.folders.add(stage);
    }
    for (let attempt = 0; attempt < 3; attempt += 1) {
      if (await this.create(path)) return true;
      const current = await readClaim(path);
      if (current === undefined) continue; // released meanwhile: try again
      if (current.token === '') {
        // Cut short: wait until it is old enough to say whether a live writer is about to fill it.
        const age = await this.ageOf(path);
        if (age !== undefined && age < CUT_SHORT_MS) {
          await new Promise((resolve) => setTimeout(resolve, CUT_SHORT_MS - age + 50));
          const again = await readClaim(path);
          if (again === undefined || again.token !== '') continue;
        }
        await this.takeOver(path, current);
        continue;
      }
      if (!(await this.isStale(path, current))) return await this.holderOf(path, current);
      await this.takeOver(path, current);
    }
    const current = await readClaim(path);
    return current ? { host: current.host, pid: current.pid } : { host: '?', pid: 0 };
  }

  /**
   * Removes the claims of a stage whose process is gone: a process killed after its unit was
   * complete but before it released the claim leaves a claim that no later run would meet (the unit
   * is skipped as complete). Called when a stage starts; one listing of the stage's claims folder.
   */
  async sweep(stage: string): Promise<void> {
    const dir = join(this.stateDir, 'claims', stage);
    const names = await readdir(dir).catch(() => [] as string[]);
    await Promise.all(
      names.map(async (name) => {
        const path = join(dir, name);
        const claim = await readClaim(path);
        if (claim === undefined) return;
        if (/\.json\.stale\./.test(name)) {
          // Renamed aside by a takeover that was killed before it removed it.
          if (claim.token === '' || (await this.isStale(path, claim))) await unlink(path).catch(() => undefined);
          return;
        }
        if (!name.endsWith('.json')) return;
        if (claim.token === '' ? ((await this.ageOf(path)) ?? 0) >= CUT_SHORT_MS : await this.isStale(path, claim)) await this.takeOver(path, claim);
      }),
    );
  }

  private async holderOf(path: string, claim: ClaimFile): Promise<Holder> {
    if (this.seesHolderOf(claim)) return { host: claim.host, pid: claim.pid };
    const age = (await this.ageOf(path)) ?? 0;
    return { host: claim.host, pid: claim.pid, lapsesInMs: Math.max(0, STALE_MS - age) };
  }

  /**
   * Whether this process still holds the claim it took on a unit: another may have taken it over
   * while this one was stopped longer than a heartbeat lapse (a node suspended, a frozen cgroup).
   */
  async holds(stage: string, unit: string): Promise<boolean> {
    const path = this.pathOf(stage, unit);
    const token = this.held.get(path);
    return token !== undefined && (await tokenAt(path)) === token;
  }

  /** Releases a claim this process holds. */
  async release(stage: string, unit: string): Promise<void> {
    await this.unhold(this.pathOf(stage, unit));
  }

  /** Releases every claim this process holds, and stops the heartbeat. */
  async close(): Promise<void> {
    clearInterval(this.heartbeat);
    await Promise.all([...this.held.keys()].map((path) => this.unhold(path)));
  }

  /** Forgets a claim this process took, and removes its file if it is still its own. */
  private async unhold(path: string): Promise<void> {
    const token = this.held.get(path);
    if (token === undefined) return;
    this.held.delete(path);
    // Only our own claim: one taken over after a long pause (a stopped laptop) is no longer ours.
    if ((await tokenAt(path)) === token) await unlink(path).catch(() => undefined);
  }

  private async create(path: string): Promise<boolean> {
    const claim: ClaimFile = {
      host: this.host,
      pid: process.pid,
      token: randomBytes(8).toString('hex'),
      since: new Date(this.now()).toISOString(),
      ...(this.pidns === undefined ? {} : { pidns: this.pidns }),
      ...(this.started === undefined ? {} : { started: this.started }),
    };
    let handle;
    try {
      handle = await open(path, 'wx').catch(async (error: unknown) => {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
        // The claims folder, made at the stage's first claim, is gone: made again, unless the
        // output folder went with it (makeFolder stops the run then).
        await makeFolder(dirname(path));
        return open(path, 'wx');
      });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw error;
    }
    try {
      await handle.writeFile(JSON.stringify(claim));
    } finally {
      await handle.close();
    }
    this.held.set(path, claim.token);
    return true;
  }

  /** Milliseconds since the claim file was last written or renewed; undefined when it is gone. */
  private async ageOf(path: string): Promise<number | undefined> {
    const info = await stat(path).catch(() => undefined);
    return info === undefined ? undefined : this.now() - info.mtimeMs;
  }

  /** Whether the claim's pid means a process this one can see: same host name, same pid namespace. */
  private seesHolderOf(claim: ClaimFile): boolean {
    return claim.host === this.host && (claim.pidns === undefined || this.pidns === undefined || claim.pidns === this.pidns);
  }

  private async isStale(path: string, claim: ClaimFile): Promise<boolean> {
    // Where its process can be seen, a dead pid says it at once, and a live one with the start
    // time it recorded holds the claim however long it has been stopped (Ctrl-Z, a suspended
    // job). Elsewhere, or where /proc does not say, a heartbeat that stopped says it (and covers
    // a pid that was reused since).
    if (this.seesHolderOf(claim)) {
      if (!processExists(claim.pid) || (claim.pid === process.pid && !this.held.has(path))) return true;
      const started = claim.started === undefined ? undefined : processStartTime(claim.pid);
      if (started !== undefined) return started !== claim.started;
    }
    const info = await stat(path).catch(() => undefined);
    return info !== undefined && this.now() - info.mtimeMs > STALE_MS;
  }

  /**
   * Removes a stale claim, and only that one: it is renamed aside first (one process wins the
   * rename), and put back if what was moved is not the stale claim read (another process took the
   * unit over in between).
   */
  private async takeOver(path: string, stale: ClaimFile): Promise<void> {
    const aside = `${path}.stale.${process.pid}.${randomBytes(4).toString('hex')}`;
    try {
      await rename(path, aside);
    } catch {
      return;
    }
    if ((await tokenAt(aside)) !== stale.token) await link(aside, path).catch(() => undefined);
    await unlink(aside).catch(() => undefined);
  }

  private async beat(): Promise<void> {
    const time = new Date(this.now());
    await Promise.all([...this.held.keys()].map((path) => utimes(path, time, time).catch(() => undefined)));
  }
}

/** The token of the claim at `path`; undefined when it is gone or cannot be read (then it is not ours). */
async function tokenAt(path: string): Promise<string | undefined> {
  return (await readClaim(path).catch(() => undefined))?.token;
}

async function readClaim(path: string): Promise<ClaimFile | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    // A folder where a claim goes was made by hand (dfdc makes none there): nothing's claim.
    if (code === 'EISDIR') throw new FatalError(`${path} is a folder, where dfdc keeps a file (a claim on a unit): remove it (rm -r), then rerun`);
    // A claim that cannot be read is someone's: not taken, and not swept.
    throw new FatalError(
      `cannot read the claim ${path} (${code ?? messageOf(error)}): the claims of every process working on this output must be readable by the others (make ${dirname(path)} and its files readable for this user), or remove it if nothing works on this output now; then rerun`,
    );
  }
  let claim: Partial<ClaimFile> | null = null;
  try {
    claim = JSON.parse(text) as Partial<ClaimFile> | null;
  } catch {
    // not JSON: cut short, below
  }
  if (claim && typeof claim.host === 'string' && typeof claim.pid === 'number' && typeof claim.token === 'string') return claim as ClaimFile;
  // A claim cut short (its writer killed between create and write) is no one's.
  return { host: '', pid: 0, token: '', since: '' };
}

