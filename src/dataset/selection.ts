import { UsageError } from '../util/errors.js';
import type { Dataset, FakeVideo, Pair, RealVideo, Video } from './dataset.js';

/**
 * Which videos a run works on: `--parts` (part numbers or folder names), `--limit N` (the first N
 * REAL videos, with their FAKEs) and `--shard-index i --shard-count n`. Every filter keeps a FAKE with
 * its original, so a shard can crop a FAKE with its original's boxes and diff it against its
 * original's crops without another shard's outputs. Pure.
 */
export interface SelectionOptions {
  /** Part numbers or folder names; undefined: all parts. */
  parts?: readonly (number | string)[];
  limit?: number;
  shard?: Shard;
}

/** Shard `index` of `count` (0 <= index < count): the originals whose id (DFDC) or fold group hashes to it, with their FAKEs. */
export interface Shard {
  readonly index: number;
  readonly count: number;
}

export interface Selection {
  readonly reals: readonly RealVideo[];
  readonly fakes: readonly FakeVideo[];
  readonly pairs: readonly Pair[];
  /** Every selected video: the reals and fakes, in data-set order. */
  readonly videos: readonly Video[];
}

/**
 * FNV-1a (32-bit) of a string's UTF-16 code units: a stable, well-spread hash so that a shard's
 * videos do not depend on how many others there are, nor on the order of the metadata files.
 */
export function fnv1a32(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i += 1) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash >>> 0;
}

/** The shard (0 .. count-1) that owns an original and all its FAKEs. */
export function shardOfOriginal(originalId: string, count: number): number {
  return fnv1a32(originalId) % count;
}

/**
 * What a sharded run should know of how the data set spreads over `count` shards: how many shards
 * get any video, and how many units (fold groups, or DFDC originals) there are to spread. A
 * layout sharded by fold group, with fewer groups than shards (a manifest of one group, Celeb-DF's
 * identities over 100 nodes), leaves shards with nothing to do.
 */
export function shardSpread(dataset: Dataset, count: number): { used: number; keys: number; byGroup: boolean } {
  const keys = new Set(dataset.reals.map((original) => shardKeyOf(dataset, original)));
  const used = new Set([...keys].map((key) => shardOfOriginal(key, count)));
  return { used: used.size, keys: keys.size, byGroup: dataset.layout !== 'dfdc' };
}

/** DFDC's shards are by original, as they always were; elsewhere by fold group (see selectVideos). */
function shardKeyOf(dataset: Dataset, original: RealVideo): string {
  return dataset.layout === 'dfdc' ? original.id : original.group;
}

export function selectVideos(dataset: Dataset, options: SelectionOptions = {}): Selection {
  const wantedParts = options.parts ? new Set(options.parts.map(String)) : undefined;
  for (const wanted of wantedParts ?? []) {
    if (dataset.parts.some((part) => part.name === wanted || (part.number !== null && String(part.number) === wanted))) continue;
    const known = dataset.parts.map((part) => part.name);
    const listed = known.length === 0 ? 'none was found' : `they are ${known.slice(0, 5).join(', ')}${known.length > 5 ? `, ... (${known.length})` : ''}`;
    throw new UsageError(`--parts ${wanted}: no such part in ${dataset.rootDir} (${listed})`);
  }
  const inParts = (video: Video): boolean =>
    !wantedParts || wantedParts.has(video.part.name) || (video.part.number !== null && wantedParts.has(String(video.part.number)));
  const shard = options.shard;
  // DFDC's shards are by original, as they always were; elsewhere by fold group, which holds a
  // FAKE's original and, in FaceForensics++, every video of the pair: a shard needs no other's boxes.
  const inShard = (original: RealVideo): boolean => !shard || shardOfOriginal(shardKeyOf(dataset, original), shard.count) === shard.index;

  // A REAL is chosen by its own folder or by one of its FAKEs' (FaceForensics++ keeps fakes in method folders).
  const viaFakes = new Set(wantedParts ? dataset.fakes.filter(inParts).map((fake) => fake.original) : []);
  let reals = dataset.reals.filter((real) => (inParts(real) || viaFakes.has(real)) && inShard(real));
  if (options.limit !== undefined) reals = reals.slice(0, options.limit);
  const chosen = new Set<RealVideo>(reals);
  // A FAKE follows its original: chosen when its original is (its own part may differ in odd data sets).
  const fakes = dataset.fakes.filter((fake) => chosen.has(fake.original) && (inParts(fake) || inParts(fake.original)));
  const chosenFakes = new Set<Video>(fakes);
  const pairs = dataset.pairs
    .filter((pair) => chosen.has(pair.original))
    .map((pair) => ({ original: pair.original, fakes: pair.fakes.filter((fake) => chosenFakes.has(fake)) }))
    .filter((pair) => pair.fakes.length > 0);
  const videos = dataset.videos.filter((video) => chosen.has(video as RealVideo) || chosenFakes.has(video));
  return { reals, fakes, pairs, videos };
}
