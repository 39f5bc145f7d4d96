/**
 * A spring-electrical (Fruchterman–Reingold) layout whose repulsion only
 * looks at nearby nodes through a uniform grid, so one iteration costs
 * O(nodes + edges) instead of O(nodes²). Nodes start grouped by community,
 * which leaves the force phase little to do. Measured against cytoscape's
 * `cose` and `cytoscape-fcose` on this machine, those took more than 3 s on
 * a 2,000-node kNN graph; this takes tens of milliseconds (see
 * `npm run bench:webview`). Pure: no DOM.
 */

export interface LayoutNode {
  id: string;
  community: number;
}

export interface LayoutEdge {
  source: string;
  target: string;
  /** Similarity in (0, 1]; stronger edges pull harder. */
  weight: number;
}

export interface LayoutOptions {
  /** Ideal distance between linked nodes, in layout units. Default 50. */
  spacing?: number;
  iterations?: number;
}

/** A deterministic pseudo-random sequence in [0, 1) from a string seed, so equal graphs get equal pictures. */
function seededRandom(seed: string): () => number {
  let state = 2166136261;
  for (let i = 0; i < seed.length; i++) state = Math.imul(state ^ seed.charCodeAt(i), 16777619);
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 4294967296;
  };
}

/** Positions (x, y) per node id. */
export function forceLayout(nodes: readonly LayoutNode[], edges: readonly LayoutEdge[], options: LayoutOptions = {}): Map<string, { x: number; y: number }> {
  const count = nodes.length;
  const spacing = options.spacing ?? 50;
  const iterations = options.iterations ?? (count > 1000 ? 40 : 80);
  const x = new Float64Array(count);
  const y = new Float64Array(count);
  const index = new Map<string, number>();
  nodes.forEach((node, i) => index.set(node.id, i));

  // Start: communities on a sunflower spiral, each a disc sized by its members, members scattered in it.
  const members = new Map<number, number[]>();
  nodes.forEach((node, i) => {
    const list = members.get(node.community) ?? [];
    list.push(i);
    members.set(node.community, list);
  });
  const random = seededRandom(`${count}:${edges.length}`);
  const communities = [...members.values()].sort((a, b) => b.length - a.length);
  const golden = Math.PI * (3 - Math.sqrt(5));
  let ring = 0;
  communities.forEach((list, c) => {
    const radius = spacing * Math.sqrt(list.length) * 0.6;
    ring = c === 0 ? 0 : Math.max(ring, spacing * Math.sqrt(count) * 0.35 * Math.sqrt(c));
    const centreX = ring * Math.cos(c * golden);
    const centreY = ring * Math.sin(c * golden);
    for (const i of list) {
      const angle = random() * 2 * Math.PI;
      const r = radius * Math.sqrt(random());
      x[i] = centreX + r * Math.cos(angle);
      y[i] = centreY + r * Math.sin(angle);
    }
  });

  const sources = new Int32Array(edges.length);
  const targets = new Int32Array(edges.length);
  const weights = new Float64Array(edges.length);
  let edgeCount = 0;
  for (const edge of edges) {
    const s = index.get(edge.source);
    const t = index.get(edge.target);
    if (s === undefined || t === undefined || s === t) continue;
    sources[edgeCount] = s;
    targets[edgeCount] = t;
    weights[edgeCount] = Math.max(0.05, Math.min(1, edge.weight));
    edgeCount++;
  }

  const k = spacing;
  const cellSize = 2 * k;
  const dx = new Float64Array(count);
  const dy = new Float64Array(count);
  const cellOf = new Int32Array(count);
  const next = new Int32Array(count);
  let temperature = spacing * Math.sqrt(count) * 0.1;
  const cooling = temperature / (iterations + 1);

  for (let iteration = 0; iteration < iterations; iteration++) {
    dx.fill(0);
    dy.fill(0);
    // Bucket nodes into grid cells (linked lists through `next`).
    let minX = Infinity;
    let minY = Infinity;
    let maxX = -Infinity;
    let maxY = -Infinity;
    for (let i = 0; i < count; i++) {
      if (x[i] < minX) minX = x[i];
      if (y[i] < minY) minY = y[i];
      if (x[i] > maxX) maxX = x[i];
      if (y[i] > maxY) maxY = y[i];
    }
    const columns = Math.max(1, Math.floor((maxX - minX) / cellSize) + 1);
    const rows = Math.max(1, Math.floor((maxY - minY) / cellSize) + 1);
    const heads = new Int32Array(columns * rows).fill(-1);
    for (let i = 0; i < count; i++) {
      const cell = Math.floor((y[i] - minY) / cellSize) * columns + Math.floor((x[i] - minX) / cellSize);
      cellOf[i] = cell;
      next[i] = heads[cell];
      heads[cell] = i;
    }
    // Repulsion k²/d from nodes in the same and the eight neighbouring cells.
    for (let i = 0; i < count; i++) {
      const column = cellOf[i] % columns;
      const row = (cellOf[i] - column) / columns;
      for (let r = Math.max(0, row - 1); r <= Math.min(rows - 1, row + 1); r++) {
        for (let c = Math.max(0, column - 1); c <= Math.min(columns - 1, column + 1); c++) {
          for (let j = heads[r * columns + c]; j !== -1; j = next[j]) {
            if (j <= i) continue;
            let ex = x[i] - x[j];
            let ey = y[i] - y[j];
            let distanceSquared = ex * ex + ey * ey;
            if (distanceSquared > cellSize * cellSize) continue;
            if (distanceSquared < 1e-6) {
              ex = (random() - 0.5) * 0.1;
              ey = (random() - 0.5) * 0.1;
              distanceSquared = ex * ex + ey * ey;
            }
            const force = (k * k) / distanceSquared;
            dx[i] += ex * force;
            dy[i] += ey * force;
            dx[j] -= ex * force;
            dy[j] -= ey * force;
          }
        }
      }
    }
    // Attraction d²/k along edges, scaled by similarity.
    for (let e = 0; e < edgeCount; e++) {
      const s = sources[e];
      const t = targets[e];
      const ex = x[s] - x[t];
      const ey = y[s] - y[t];
      const distance = Math.sqrt(ex * ex + ey * ey) + 1e-9;
      const force = (distance / k) * weights[e];
      dx[s] -= ex * force;
      dy[s] -= ey * force;
      dx[t] += ex * force;
      dy[t] += ey * force;
    }
    // Move each node at most `temperature`, then cool.
    for (let i = 0; i < count; i++) {
      const length = Math.sqrt(dx[i] * dx[i] + dy[i] * dy[i]);
      if (length < 1e-9) continue;
      const step = Math.min(length, temperature) / length;
      x[i] += dx[i] * step;
      y[i] += dy[i] * step;
    }
    temperature = Math.max(temperature - cooling, spacing * 0.05);
  }

  const positions = new Map<string, { x: number; y: number }>();
  nodes.forEach((node, i) => positions.set(node.id, { x: x[i], y: y[i] }));
  return positions;
}
