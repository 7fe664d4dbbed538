import { writeFileSync } from 'node:fs';

/**
 * Loaded with `node --import` into a benchmarked dfdc process: at exit it writes the process's peak
 * resident memory (worker threads included; the ffmpeg child processes are not) to the file named
 * by DFDC_BENCH_RUSAGE, with its CPU time (user and system, all threads) and the file system
 * reads it did (blocks that missed the page cache), so that a wall time can be read against them.
 */
const target = process.env.DFDC_BENCH_RUSAGE;
if (target) {
  process.on('exit', () => {
    const usage = process.resourceUsage();
    writeFileSync(
      target,
      JSON.stringify({
        maxRssKb: usage.maxRSS,
        userCpuMs: Math.round(usage.userCPUTime / 1000),
        systemCpuMs: Math.round(usage.systemCPUTime / 1000),
        fsReads: usage.fsRead,
      }),
    );
  });
}
