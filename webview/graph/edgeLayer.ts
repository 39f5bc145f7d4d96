import { fitCanvas } from './canvas';

/**
 * Similarity edges drawn on a canvas under the `NodeLayer`. As cytoscape
 * elements, the ~15,000 edges of a 2,000-file kNN graph made the first
 * render take over ten seconds here (per-element style and bookkeeping);
 * drawn as a few batched paths, they cost tens of milliseconds per draw, so
 * they are drawn when the view rests and moved as a bitmap while it moves.
 */
export interface EdgeLine {
  source: string;
  target: string;
  /** In [0, 1]; sets the width. */
  weight: number;
}

/** Widths are bucketed so each bucket is one stroked path. */
const WIDTH_BUCKETS = 8;

/**
 * Width in px at zoom 1 of a bucket's edges: 1 px up to weight 0.5, then up
 * to 3 px. Canvas strokes of 1 px take a fast path (about 25 ms for 14,000
 * lines in software rendering, against 300–700 ms at 0.5–4 px), and most
 * kNN similarities sit below 0.5, so only strong edges pay for width.
 */
function bucketWidth(bucket: number): number {
  const weight = (bucket + 0.5) / WIDTH_BUCKETS;
  return weight <= 0.5 ? 1 : 1 + 4 * (weight - 0.5);
}

export class EdgeLayer {
  readonly canvas: HTMLCanvasElement;
  private sources = new Int32Array(0);
  private targets = new Int32Array(0);
  private buckets = new Uint8Array(0);
  private x = new Float64Array(0);
  private y = new Float64Array(0);
  private faded = new Uint8Array(0);
  private colour = '#888888';

  constructor() {
    this.canvas = document.createElement('canvas');
    this.canvas.className = 'edge-layer';
  }

  get count(): number {
    return this.sources.length;
  }

  /** Sets the edges and the node positions (model coordinates) they join; edges naming unknown nodes are skipped. */
  setEdges(edges: readonly EdgeLine[], positions: ReadonlyMap<string, { x: number; y: number }>): void {
    const index = new Map<string, number>();
    this.x = new Float64Array(positions.size);
    this.y = new Float64Array(positions.size);
    for (const [id, position] of positions) {
      const slot = index.size;
      index.set(id, slot);
      this.x[slot] = position.x;
      this.y[slot] = position.y;
    }
    const sources: number[] = [];
    const targets: number[] = [];
    const buckets: number[] = [];
    for (const edge of edges) {
      const source = index.get(edge.source);
      const target = index.get(edge.target);
      if (source === undefined || target === undefined) continue;
      sources.push(source);
      targets.push(target);
      buckets.push(Math.min(WIDTH_BUCKETS - 1, Math.floor(Math.max(0, Math.min(1, edge.weight)) * WIDTH_BUCKETS)));
    }
    this.sources = Int32Array.from(sources);
    this.targets = Int32Array.from(targets);
    this.buckets = Uint8Array.from(buckets);
    this.faded = new Uint8Array(this.sources.length);
    this.nodeIndex = index;
  }

  private nodeIndex = new Map<string, number>();

  /** Fades edges with an end outside `visible` (the path filter). */
  setVisibleNodes(visible: (id: string) => boolean): void {
    const shown = new Uint8Array(this.x.length);
    for (const [id, slot] of this.nodeIndex) shown[slot] = visible(id) ? 1 : 0;
    for (let e = 0; e < this.sources.length; e++) this.faded[e] = shown[this.sources[e]] === 1 && shown[this.targets[e]] === 1 ? 0 : 1;
  }

  setColour(colour: string): void {
    this.colour = colour;
  }

  /** Draws now with the view's zoom and pan (rendered = model × zoom + pan). */
  draw(zoom: number, pan: { x: number; y: number }): void {
    const context = fitCanvas(this.canvas);
    if (context === undefined) return;
    context.strokeStyle = this.colour;
    context.lineCap = 'butt';
    const anyFaded = this.faded.includes(1);
    for (const faded of anyFaded ? [1, 0] : [0]) {
      for (let bucket = 0; bucket < WIDTH_BUCKETS; bucket++) {
        // Stronger edges are also more opaque, so weak ones recede at any width.
        context.globalAlpha = faded === 1 ? 0.04 : 0.1 + (0.3 * (bucket + 0.5)) / WIDTH_BUCKETS;
        context.beginPath();
        let any = false;
        for (let e = 0; e < this.sources.length; e++) {
          if (this.buckets[e] !== bucket || this.faded[e] !== faded) continue;
          const s = this.sources[e];
          const t = this.targets[e];
          context.moveTo(this.x[s] * zoom + pan.x, this.y[s] * zoom + pan.y);
          context.lineTo(this.x[t] * zoom + pan.x, this.y[t] * zoom + pan.y);
          any = true;
        }
        if (!any) continue;
        // Zoomed out, wide edges narrow down to 1 px rather than cover the nodes.
        context.lineWidth = Math.max(1, bucketWidth(bucket) * Math.min(1, zoom * 1.5));
        context.stroke();
      }
    }
    context.globalAlpha = 1;
  }
}
