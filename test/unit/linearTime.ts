import { strict as assert } from 'node:assert';

/**
 * One sample of how long `run` takes: its fastest call of at least five and
 * at least 50 ms of calls, so short runs are measurable and a garbage
 * collection or a pause of the shared machine in one call does not count.
 */
function sampleMs(run: () => unknown): number {
  const started = performance.now();
  let fastest = Infinity;
  let calls = 0;
  do {
    const callStarted = performance.now();
    run();
    calls++;
    fastest = Math.min(fastest, performance.now() - callStarted);
  } while (calls < 5 || performance.now() - started < 50);
  return fastest;
}

function medianOfThree(run: () => unknown): number {
  const samples = [sampleMs(run), sampleMs(run), sampleMs(run)].sort((a, b) => a - b);
  return samples[1];
}

/**
 * How much longer 8 times the input may take. A linear scan measures 10–18x
 * on this machine (per-token allocation and cache costs grow with the input);
 * the quadratic regex retry it guards against measured 40–90x.
 */
const MAX_RATIO_FOR_8X = 32;

/**
 * Asserts that `work` grows about linearly: on an input 8 times larger it
 * takes less than `maxRatio` times as long (medians of three samples).
 * `work(scale)` builds the input and returns the call to time.
 */
export function assertLinearTime(what: string, work: (scale: number) => () => unknown, maxRatio = MAX_RATIO_FOR_8X): void {
  const small = work(1);
  const large = work(8);
  small(); // warm-up, so the first sample does not include compilation
  const smallMs = medianOfThree(small);
  const largeMs = medianOfThree(large);
  assert.ok(
    largeMs < maxRatio * smallMs,
    `${what}: 8x the input took ${(largeMs / smallMs).toFixed(1)}x the time (${smallMs.toFixed(2)} ms → ${largeMs.toFixed(2)} ms)`,
  );
}
