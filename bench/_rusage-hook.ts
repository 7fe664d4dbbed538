import { writeFileSync } from 'node:fs';

/**
 * Loaded with `node --import` into a benchmarked dfdc process: at exit it writes the process's peak
 * resident memory (worker threads included; the ffmpeg child processes are not) to the file named
 * by DFDC_BENCH_RUSAGE.
 */
const target = process.env.DFDC_BENCH_RUSAGE;
if (target) {
  process.on('exit', () => {
    writeFileSync(target, JSON.stringify({ maxRssKb: process.resourceUsage().maxRSS }));
  });
}
