import { TaskGraph } from './taskGraph';
import type { TaskGraphOptions } from './taskGraph';

export interface GraphBuildBenchmark {
  readonly files: number;
  /** Undirected edges, each counted once. */
  readonly edges: number;
  readonly communities: number;
  /** `TaskGraph.build`: features, vectors, LSH and neighbour lists. */
  readonly buildMs: number;
  /** Louvain on the built graph. */
  readonly communityMs: number;
  readonly totalMs: number;
  /** CPU time (user + system) of build and communities: steadier than wall time on a busy machine. */
  readonly cpuMs: number;
  /** Heap and resident set after the build, while the graph is alive. */
  readonly heapMB: number;
  /** Heap the graph itself retains (after minus before; exact only with --expose-gc). */
  readonly graphHeapMB: number;
  readonly rssMB: number;
  /** The process's peak resident set so far (includes whatever the caller holds). */
  readonly peakRssMB: number;
}

const MB = 1024 * 1024;

/**
 * Builds a task graph from token lists and measures it; the bench CLI calls
 * this. Run node with --expose-gc for steadier memory figures.
 */
export function benchmarkGraphBuild(
  files: Iterable<{ readonly path: string; readonly tokens: readonly string[] }>,
  options?: TaskGraphOptions,
): GraphBuildBenchmark {
  const collectGarbage = (globalThis as { gc?: () => void }).gc;
  collectGarbage?.();
  const heapBefore = process.memoryUsage().heapUsed;
  const cpuStart = process.cpuUsage();
  const start = performance.now();
  const graph = TaskGraph.build(files, options);
  const built = performance.now();
  const communities = graph.communityCount();
  const end = performance.now();
  const cpu = process.cpuUsage(cpuStart);
  collectGarbage?.();
  const memory = process.memoryUsage();
  return {
    files: graph.size,
    edges: graph.edgeCount(),
    communities,
    buildMs: built - start,
    communityMs: end - built,
    totalMs: end - start,
    cpuMs: (cpu.user + cpu.system) / 1000,
    heapMB: memory.heapUsed / MB,
    graphHeapMB: (memory.heapUsed - heapBefore) / MB,
    rssMB: memory.rss / MB,
    peakRssMB: process.resourceUsage().maxRSS / 1024,
  };
}
