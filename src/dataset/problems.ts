/**
 * A problem found in the data set (a bad metadata.json, a bad record, a missing original), kept as
 * data rather than thrown: commands print each as one line, put them in their run report, go on with
 * the rest, and exit non-zero at the end.
 */
export interface Problem {
  /** The file the problem is in, relative to DATA_ROOT with `/` separators, e.g. `dfdc_train_part_3/metadata.json`. */
  readonly file: string;
  /** What is wrong and what was done about it, e.g. `"abc.mp4".label must be REAL or FAKE (got "real")`. */
  readonly message: string;
}

/** The one-line form: `<file>: <message>`. */
export function formatProblem(problem: Problem): string {
  return `${problem.file}: ${problem.message}`;
}

/**
 * The lines to print for `problems`: at most `perFile` of each file, in their order, then one line
 * per file with more, saying how many more and where they all are. A partial download can leave
 * thousands of fakes without their original; the terminal gets the first few, `where` every one.
 */
export function problemLines(problems: readonly Problem[], where: string, perFile = 10): string[] {
  const counts = new Map<string, number>();
  const lines: string[] = [];
  for (const problem of problems) {
    const count = (counts.get(problem.file) ?? 0) + 1;
    counts.set(problem.file, count);
    if (count <= perFile) lines.push(formatProblem(problem));
  }
  for (const [file, count] of counts) {
    if (count > perFile) lines.push(`${file}: ${count - perFile} more problem(s) like the ones above (every one is in ${where})`);
  }
  return lines;
}
