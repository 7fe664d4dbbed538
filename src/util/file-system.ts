import { accessSync, constants, readdirSync, readFileSync, statSync, statfsSync, type Stats } from 'node:fs';
import { access, lstat, readdir, readFile, readlink, stat } from 'node:fs/promises';

/**
 * How to read many small things from a file system fast. On a local disk a synchronous stat or
 * listing costs a few microseconds and an asynchronous one several times that (a round trip
 * through libuv's thread pool and a promise): a rerun that checks 250,000 units takes 15 s one way
 * and 45 s the other. On a network file system each call waits for the server, and only many
 * calls in flight at once hide that. So: synchronous calls on local disks, asynchronous ones on
 * network file systems, chosen by the file system's type.
 */
export interface FileAccess {
  readonly kind: 'local' | 'network';
  stat(path: string): Promise<Stats>;
  readdir(path: string): Promise<string[]>;
  readText(path: string): Promise<string>;
  /** Resolves when this process may read the file; rejects with the system's error otherwise. */
  readable(path: string): Promise<void>;
}

const local: FileAccess = {
  kind: 'local',
  stat: async (path) => statSync(path),
  readdir: async (path) => readdirSync(path),
  readText: async (path) => readFileSync(path, 'utf8'),
  readable: async (path) => accessSync(path, constants.R_OK),
};

const network: FileAccess = {
  kind: 'network',
  stat: (path) => stat(path),
  readdir: (path) => readdir(path),
  readText: (path) => readFile(path, 'utf8'),
  readable: (path) => access(path, constants.R_OK),
};

/**
 * statfs magic numbers of file systems whose calls go over a network (Linux's linux/magic.h and
 * the vendors' own): NFS, SMB/CIFS, Lustre, GPFS (Spectrum Scale), BeeGFS, CephFS, GlusterFS and
 * the object-store mounts (FUSE), AFS, 9p, GFS2, OCFS2.
 */
const networkTypes = new Set([
  0x6969, 0x517b, 0xff534d42, 0xfe534d42, 0x0bd00bd0, 0x47504653, 0x19830326, 0x00c36400, 0x65735546, 0x5346414f, 0x01021997, 0x01161970, 0x7461636f,
]);

/** The way to read the folders given: network calls if any of them is on a network file system. */
export function fileAccessFor(paths: readonly string[]): FileAccess {
  for (const path of paths) {
    try {
      if (networkTypes.has(statfsSync(path).type)) return network;
    } catch {
      // an absent folder (an output folder not made yet) says nothing
    }
  }
  return local;
}

export const localFileAccess = local;
export const networkFileAccess = network;

/**
 * A list the user gave (a metadata.json, a manifest, a split file) as text, refusing anything but
 * a regular file: reading a FIFO would wait for a writer for ever, and a device has no end. The
 * refusal is an error with code `ENOTREG` and the path, like the system's own.
 */
export async function readListFile(path: string): Promise<string> {
  const info = await stat(path);
  if (!info.isFile()) {
    throw Object.assign(new Error(`${path} is not a regular file (a FIFO, a socket or a device)`), { code: 'ENOTREG', path });
  }
  return readFile(path, 'utf8');
}

/**
 * Why a file a unit reads and no stage makes (a video) cannot be read: `absent` when nothing is at
 * the path (the stage says which list names it), else what is there instead, in words with a fix
 * (`is a folder, not a video file: ...`), to follow "its video". Undefined, with its size, when it
 * is a regular file this process may read. Each case has its own fix: a link whose target is not
 * there is content a data-set tool (git-annex, DVC, DataLad) has not fetched, not a file to look
 * for; a FIFO would make the decoder wait for ever.
 */
export async function inputFileState(path: string, files: FileAccess): Promise<{ size: number } | { reason: 'absent' | string }> {
  let info: Stats;
  try {
    info = await files.stat(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      const target = await lstat(path).then((link) => (link.isSymbolicLink() ? readlink(path) : undefined), () => undefined);
      if (target === undefined) return { reason: 'absent' };
      return { reason: `is a symbolic link to ${target}, which is not there: fetch its content (git annex get, dvc pull, datalad get) or fix the link, then rerun` };
    }
    if (code === 'ELOOP') return { reason: 'is a symbolic link that leads back to itself (ELOOP): fix the link, then rerun' };
    return { reason: unreadableReason(path, code, error) };
  }
  if (info.isDirectory()) return { reason: 'is a folder, not a video file: move it away, or put the video there, then rerun' };
  if (!info.isFile()) return { reason: 'is not a regular file (a FIFO, a socket or a device): replace it with the video file, then rerun' };
  if (info.size === 0) return { reason: 'is empty (0 bytes: a download cut short?): download it again, then rerun' };
  try {
    await files.readable(path);
  } catch (error) {
    return { reason: unreadableReason(path, (error as NodeJS.ErrnoException).code, error) };
  }
  return { size: info.size };
}

function unreadableReason(path: string, code: string | undefined, error: unknown): string {
  if (code === 'EACCES' || code === 'EPERM') return `may not be read by this user (${code}): make it readable (chmod a+r ${path}, and a+x on its folders), then rerun`;
  return `cannot be read (${code ?? (error instanceof Error ? error.message : String(error))}): check the file and the disk it is on, then rerun`;
}
