import { createHash } from 'node:crypto';
import { extname } from 'node:path';

/**
 * File systems limit a file name to 255 bytes (ext4, xfs, NFS). dfdc names files after video ids,
 * which can come close to that, and adds to them (`.json`, and `.<name>.<pid>.<n>.tmp` while a file
 * is written). A name longer than MAX_NAME_BYTES is shortened to a prefix of it followed by `-` and
 * 8 hex digits of the SHA-256 of the whole name, keeping its extension: distinct names stay
 * distinct, and the same name always gives the same file.
 */
export const MAX_NAME_BYTES = 200;

export function boundedFileName(name: string, maxBytes = MAX_NAME_BYTES): string {
  if (Buffer.byteLength(name) <= maxBytes) return name;
  const extension = extname(name);
  const hash = createHash('sha256').update(name).digest('hex').slice(0, 8);
  const room = maxBytes - Buffer.byteLength(extension) - hash.length - 1;
  const stem = Buffer.from(name.slice(0, name.length - extension.length)).subarray(0, room).toString('utf8').replace(/\uFFFD+$/, '');
  return `${stem}-${hash}${extension}`;
}

/**
 * The name a temporary of util/atomic-write.ts (`.<name>.<pid>.<n>-<token>.tmp`, or dfdc 0.1's
 * `.<name>.<pid>.<n>.tmp`) was made for, shortened as temporaryPathFor shortens it; undefined for
 * any other name.
 */
export function temporaryTarget(temporaryName: string): string | undefined {
  return /^\.(.+)\.\d+\.\d+(?:-[0-9a-f]+)?\.tmp$/.exec(temporaryName)?.[1];
}
