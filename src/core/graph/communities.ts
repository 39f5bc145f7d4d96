import { UndirectedGraph } from 'graphology';
import louvain from 'graphology-communities-louvain';
import { seededRandom } from './hashing';

/** An undirected edge between node indices; each pair appears once. */
export interface IndexedEdge {
  readonly source: number;
  readonly target: number;
  readonly weight: number;
}

export interface CommunityOptions {
  readonly seed: number;
  /** Louvain's resolution: above 1 favours more, smaller communities. */
  readonly resolution: number;
}

/**
 * Weighted Louvain communities of nodes `0..nodeCount-1`. Ids are renumbered
 * by decreasing size (ties: the community holding the lowest node index
 * first), so the same graph and seed always give the same ids. Isolated nodes
 * are communities of their own.
 */
export function detectCommunities(
  nodeCount: number,
  edges: readonly IndexedEdge[],
  options: CommunityOptions,
): Int32Array {
  const graph = new UndirectedGraph<Record<string, never>, { weight: number }>();
  for (let node = 0; node < nodeCount; node++) graph.addNode(String(node));
  for (const edge of edges) graph.addEdge(String(edge.source), String(edge.target), { weight: edge.weight });
  const byNode = louvain(graph, {
    getEdgeWeight: 'weight',
    resolution: options.resolution,
    rng: seededRandom(options.seed),
  });

  const raw = new Int32Array(nodeCount);
  const sizeByRaw = new Map<number, number>();
  const firstNodeByRaw = new Map<number, number>();
  for (let node = 0; node < nodeCount; node++) {
    const community = byNode[String(node)];
    raw[node] = community;
    sizeByRaw.set(community, (sizeByRaw.get(community) ?? 0) + 1);
    if (!firstNodeByRaw.has(community)) firstNodeByRaw.set(community, node);
  }
  const order = [...sizeByRaw.keys()].sort(
    (a, b) =>
      (sizeByRaw.get(b) as number) - (sizeByRaw.get(a) as number) ||
      (firstNodeByRaw.get(a) as number) - (firstNodeByRaw.get(b) as number),
  );
  const renumbered = new Map<number, number>();
  order.forEach((community, id) => renumbered.set(community, id));
  return raw.map((community) => renumbered.get(community) as number);
}
