/**
 * The cases of `npm run bench pipeline`, each dfdc beside the reference on the same inputs
 * (bench/pipeline.ts runs them). DFDC_BENCH_CASES=a,b selects some.
 */
export const PIPELINE_CASES = {
  'detect-clip':
    'detect (and detect --every 10) on one 300-frame 1920x1080 DFDC clip as one REAL, then crops, landmarks and diffs with a copy of it as its FAKE: the cost model',
  'crops-dataset-b': 'crops on parity dataset_b (6 videos) from the reference\'s own boxes, and its decode floor',
  'crops-multi': 'crops on 14 videos (10 REAL, 4 FAKE, seven frame sizes) from one set of boxes for both, and its decode floor',
  'run-dataset-b': 'dfdc run against the five scripts on parity dataset_b',
} as const;

export type PipelineCase = keyof typeof PIPELINE_CASES;

/**
 * The cases a DFDC_BENCH_CASES value names (comma- or space-separated), in the order of
 * PIPELINE_CASES; all of them when it is empty or unset. An unknown name is an error that lists
 * the known ones, rather than a benchmark that silently measures nothing.
 */
export function selectCases(value: string | undefined): PipelineCase[] {
  const known = Object.keys(PIPELINE_CASES) as PipelineCase[];
  const names = (value ?? '')
    .split(/[\s,]+/)
    .map((name) => name.trim())
    .filter((name) => name !== '');
  if (names.length === 0) return known;
  const unknown = names.filter((name) => !(known as string[]).includes(name));
  if (unknown.length > 0) throw new Error(`DFDC_BENCH_CASES: unknown case ${unknown.join(', ')} (known: ${known.join(', ')})`);
  return known.filter((name) => names.includes(name));
}
