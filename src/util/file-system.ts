import { readdirSync, readFileSync, statSync, statfsSync, type Stats } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';

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
}

const local: FileAccess = {
  kind: 'local',
  stat: async (path) => statSync(path),
  readdir: async (path) => readdirSync(path),
  readText: async (path) => readFileSync(path, 'utf8'),
};

const network: FileAccess = {
  kind: 'network',
  stat: (path) => stat(path),
  readdir: (path) => readdir(path),
  readText: (path) => readFile(path, 'utf8'),
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
