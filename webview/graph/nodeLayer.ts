import { fitCanvas } from './canvas';

/**
 * The task graph's nodes on one canvas, above the `EdgeLayer`. Drawn by
 * cytoscape, a 2,000-node graph took 270–900 ms per wheel step in headless
 * Chromium (per-node texture caches rebuilt at each zoom level, then
 * `drawImage` of each); here every frame is one filled path per colour,
 * a few milliseconds, so zoom and pan redraw every node on every frame.
 * Hit testing is a scan of the nodes' model positions (2,000 distance checks).
 */

/** One node as drawn: model position, diameter at zoom 1, fill colour or none (no loss yet). */
export interface DrawnNode {
  id: string;
  x: number;
  y: number;
  size: number;
  /** Undefined: drawn as a hollow ring in `hollowColour`. */
  colour: string | undefined;
  faded: boolean;
}

export interface Viewport {
  zoom: number;
  pan: { x: number; y: number };
}

/** Faded nodes (outside the path filter) keep this much opacity, as before. */
const FADED_ALPHA = 0.08;
/** Nodes never shrink below this radius in px, so a zoomed-out graph stays visible and clickable. */
const MIN_RADIUS_PX = 1.5;
/** The pointer may miss a node's edge by this many px and still hit it. */
const HIT_SLOP_PX = 2;

export class NodeLayer {
  readonly canvas: HTMLCanvasElement;
  private nodes: DrawnNode[] = [];
  private groups = new Map<string, number[]>();
  private selected = -1;
  private hollowColour = '#888888';
  private selectionColour = '#007fd4';
  private labelColour = '#333333';
  private labelBackground = '#ffffff';

  constructor() {
    this.canvas = document.createElement('canvas');
    this.canvas.className = 'node-layer';
  }

  get count(): number {
    return this.nodes.length;
  }

  setNodes(nodes: DrawnNode[]): void {
    this.nodes = nodes;
    this.regroup();
  }

  /** Updates colour and fading in place (same nodes, same order); cheaper than `setNodes` for loss updates. */
  restyle(colourOf: (id: string) => string | undefined, fadedOf: (id: string) => boolean): void {
    for (const node of this.nodes) {
      node.colour = colourOf(node.id);
      node.faded = fadedOf(node.id);
    }
    this.regroup();
  }

  setSelected(id: string | undefined): void {
    this.selected = id === undefined ? -1 : this.nodes.findIndex((node) => node.id === id);
  }

  setColours(colours: { hollow: string; selection: string; label: string; labelBackground: string }): void {
    this.hollowColour = colours.hollow;
    this.selectionColour = colours.selection;
    this.labelColour = colours.label;
    this.labelBackground = colours.labelBackground;
  }

  node(index: number): DrawnNode | undefined {
    return this.nodes[index];
  }

  /** Model-space bounds of all nodes including their radius at zoom 1, or undefined when empty. */
  bounds(): { x1: number; y1: number; x2: number; y2: number } | undefined {
    if (this.nodes.length === 0) return undefined;
    let x1 = Infinity;
    let y1 = Infinity;
    let x2 = -Infinity;
    let y2 = -Infinity;
    for (const node of this.nodes) {
      const radius = node.size / 2;
      x1 = Math.min(x1, node.x - radius);
      y1 = Math.min(y1, node.y - radius);
      x2 = Math.max(x2, node.x + radius);
      y2 = Math.max(y2, node.y + radius);
    }
    return { x1, y1, x2, y2 };
  }

  /** The index of the topmost node under rendered point (x, y), or -1. */
  hit(x: number, y: number, viewport: Viewport): number {
    const modelX = (x - viewport.pan.x) / viewport.zoom;
    const modelY = (y - viewport.pan.y) / viewport.zoom;
    let best = -1;
    let bestDistance = Infinity;
    for (let i = 0; i < this.nodes.length; i++) {
      const node = this.nodes[i];
      const reach = (this.radiusPx(node, viewport.zoom) + HIT_SLOP_PX) / viewport.zoom;
      const dx = node.x - modelX;
      const dy = node.y - modelY;
      const distance = dx * dx + dy * dy;
      if (distance <= reach * reach && distance < bestDistance) {
        best = i;
        bestDistance = distance;
      }
    }
    return best;
  }

  /** Rendered position of node `index`. */
  rendered(index: number, viewport: Viewport): { x: number; y: number; radius: number } {
    const node = this.nodes[index];
    return { x: node.x * viewport.zoom + viewport.pan.x, y: node.y * viewport.zoom + viewport.pan.y, radius: this.radiusPx(node, viewport.zoom) };
  }

  /** Draws at `resolution` × the device pixel ratio (below 1 while the view moves: fewer pixels to hand to the compositor). */
  draw(viewport: Viewport, resolution = 1): void {
    const context = fitCanvas(this.canvas, resolution);
    if (context === undefined) return;
    const { zoom, pan } = viewport;
    const width = this.canvas.clientWidth;
    const height = this.canvas.clientHeight;
    // Faded groups first, so matching nodes are drawn over them.
    const keys = [...this.groups.keys()].sort((a, b) => Number(b.startsWith('f')) - Number(a.startsWith('f')));
    for (const key of keys) {
      const members = this.groups.get(key) ?? [];
      const faded = key.startsWith('f');
      const colour = key.slice(2);
      const hollow = colour === '';
      context.globalAlpha = faded ? FADED_ALPHA : 1;
      context.beginPath();
      for (const index of members) {
        const node = this.nodes[index];
        const radius = this.radiusPx(node, zoom);
        const x = node.x * zoom + pan.x;
        const y = node.y * zoom + pan.y;
        if (x + radius < 0 || y + radius < 0 || x - radius > width || y - radius > height) continue;
        const inner = hollow ? Math.max(0.5, radius - 1) : radius;
        context.moveTo(x + inner, y);
        context.arc(x, y, inner, 0, 2 * Math.PI);
      }
      if (hollow) {
        context.strokeStyle = this.hollowColour;
        context.lineWidth = 1.5;
        context.stroke();
      } else {
        context.fillStyle = colour;
        context.fill();
      }
    }
    context.globalAlpha = 1;
    if (this.selected >= 0) this.drawSelected(context, viewport);
  }

  private drawSelected(context: CanvasRenderingContext2D, viewport: Viewport): void {
    const node = this.nodes[this.selected];
    const { x, y, radius } = this.rendered(this.selected, viewport);
    context.beginPath();
    context.arc(x, y, radius + 1.5, 0, 2 * Math.PI);
    context.strokeStyle = this.selectionColour;
    context.lineWidth = 3;
    context.stroke();
    context.font = '11px sans-serif';
    const textWidth = context.measureText(node.id).width;
    const top = y - radius - 6 - 13;
    context.globalAlpha = 0.85;
    context.fillStyle = this.labelBackground;
    context.fillRect(x - textWidth / 2 - 2, top - 2, textWidth + 4, 15);
    context.globalAlpha = 1;
    context.fillStyle = this.labelColour;
    context.textBaseline = 'top';
    context.textAlign = 'center';
    context.fillText(node.id, x, top);
  }

  /** Nodes scale with zoom, as in cytoscape, but stay at least `MIN_RADIUS_PX`. */
  private radiusPx(node: DrawnNode, zoom: number): number {
    return Math.max(MIN_RADIUS_PX, (node.size / 2) * zoom);
  }

  private regroup(): void {
    this.groups = new Map();
    this.nodes.forEach((node, index) => {
      const key = `${node.faded ? 'f' : 'n'}:${node.colour ?? ''}`;
      const group = this.groups.get(key);
      if (group === undefined) this.groups.set(key, [index]);
      else group.push(index);
    });
  }
}
