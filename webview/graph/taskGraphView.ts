import type { PanelGraph, PanelGraphNode } from '../../src/protocol/panelProtocol';
import { themeColour } from '../theme';
import { EdgeLayer } from './edgeLayer';
import { forceLayout } from './forceLayout';
import { NodeLayer } from './nodeLayer';
import type { DrawnNode, Viewport } from './nodeLayer';

export type ColourBy = 'loss' | 'community';

/** Which loss colours the nodes: `after` adaptation, `before` it (k = 0), both (after where known), or none yet. */
type LossShown = 'after' | 'before' | 'mixed' | 'none';

/** How long the view must rest after a pan or zoom before edges are drawn again (meanwhile their bitmap is moved). */
const EDGES_AFTER_VIEWPORT_MS = 150;
/**
 * While the view moves, nodes are drawn at half resolution: with software
 * compositing (no GPU), handing a full-size canvas to the compositor was the
 * largest cost of a frame. The rest frame redraws them sharp.
 */
const MOVING_RESOLUTION = 0.5;
const MIN_ZOOM = 0.05;
const MAX_ZOOM = 4;
const FIT_PADDING_PX = 20;
/** A press that moves less than this is a click, not a pan. */
const CLICK_SLOP_PX = 4;

/** Twelve hues spaced around the wheel; communities beyond twelve reuse them. */
const COMMUNITY_HUES = [210, 30, 120, 280, 0, 55, 175, 320, 90, 245, 150, 15];

function communityColour(community: number): string {
  return `hsl(${COMMUNITY_HUES[((community % COMMUNITY_HUES.length) + COMMUNITY_HUES.length) % COMMUNITY_HUES.length]}, 65%, 52%)`;
}

/** Low loss green, high loss red, over the range of losses shown. */
function lossColour(loss: number, min: number, max: number): string {
  const share = max > min ? (loss - min) / (max - min) : 0.5;
  // 24 steps of hue: enough to read, and nodes of one colour are filled as one path.
  return `hsl(${Math.round(24 * (1 - share)) * 5}, 70%, 45%)`;
}

function formatLoss(loss: number | undefined): string {
  return loss === undefined ? 'not measured' : `${loss.toFixed(3)} nats/token`;
}

/** The loss a node is coloured by: after adaptation when measured, else before (the engine measures k = 0 for every training task). */
function shownLoss(node: PanelGraphNode): number | undefined {
  return node.lossAfter ?? node.lossBefore;
}

/** Wheel delta in px whatever the device reports (lines or pages). */
function wheelPixels(event: WheelEvent): number {
  return event.deltaMode === 1 ? event.deltaY * 40 : event.deltaMode === 2 ? event.deltaY * 800 : event.deltaY;
}

/**
 * The task graph: files as nodes sized by tokens and coloured by query loss
 * (after adaptation when measured, else before) or community, similarity
 * edges with width by weight, a legend, a tooltip on hover, selection on
 * click, zoom on the wheel, pan by dragging and a path filter. Positions come
 * from `forceLayout` and survive updates that keep the same files. Nodes
 * (`NodeLayer`) are redrawn every frame the view moves; edges (`EdgeLayer`)
 * only when it rests, their bitmap moved with CSS meanwhile.
 */
export class TaskGraphView {
  readonly element: HTMLElement;
  private readonly canvasHost: HTMLElement;
  private readonly tooltip: HTMLElement;
  private readonly legend: HTMLElement;
  private readonly nodes = new NodeLayer();
  private readonly edges = new EdgeLayer();
  private viewport: Viewport = { zoom: 1, pan: { x: 0, y: 0 } };
  /** The viewport the edge bitmap was drawn with. */
  private edgesDrawnAt: Viewport = { zoom: 1, pan: { x: 0, y: 0 } };
  private edgesStale = true;
  /** False until a graph was fitted to a canvas with a size (a hidden panel has none). */
  private fitted = false;
  private moving = false;
  private frame = 0;
  private viewportSettled: ReturnType<typeof setTimeout> | undefined;
  private press: { x: number; y: number; panX: number; panY: number; moved: boolean; pointer: number } | undefined;
  private hovered = -1;
  private graphNodes: readonly PanelGraphNode[] = [];
  private neighbours = new Map<string, { path: string; weight: number }[]>();
  private colourBy: ColourBy = 'loss';
  private filter = '';
  private nodeKey = '';
  private selected: string | undefined;

  constructor(private readonly onSelect: (path: string) => void) {
    this.element = document.createElement('section');
    this.element.className = 'graph';
    this.legend = document.createElement('div');
    this.legend.className = 'graph-legend';
    this.legend.id = 'graph-legend';
    this.canvasHost = document.createElement('div');
    this.canvasHost.className = 'graph-canvas';
    this.canvasHost.id = 'task-graph';
    this.canvasHost.append(this.edges.canvas, this.nodes.canvas);
    this.tooltip = document.createElement('div');
    this.tooltip.className = 'tooltip';
    this.tooltip.setAttribute('role', 'tooltip');
    this.tooltip.hidden = true;
    this.element.append(this.legend, this.canvasHost, this.tooltip);
    this.setCounts(0, 0, 0);
    this.readThemeColours();
    this.canvasHost.addEventListener('wheel', (event) => this.onWheel(event), { passive: false });
    this.canvasHost.addEventListener('pointerdown', (event) => this.onPointerDown(event));
    this.canvasHost.addEventListener('pointermove', (event) => this.onPointerMove(event));
    this.canvasHost.addEventListener('pointerup', (event) => this.onPointerUp(event));
    this.canvasHost.addEventListener('pointercancel', () => (this.press = undefined));
    this.canvasHost.addEventListener('pointerleave', () => this.hover(-1));
  }

  /** Draws `graph`; lays it out again only when its set of files changed. Returns the layout time in ms (0 when kept). */
  setGraph(graph: PanelGraph): number {
    const key = graph.nodes.map((node) => node.path).join('\n');
    const sameFiles = key === this.nodeKey && this.nodes.count === graph.nodes.length;
    this.graphNodes = graph.nodes;
    let layoutMs = 0;
    if (!sameFiles) {
      const started = performance.now();
      const positions = forceLayout(
        graph.nodes.map((node) => ({ id: node.path, community: node.community })),
        graph.edges,
      );
      layoutMs = performance.now() - started;
      const maxTokens = graph.nodes.reduce((largest, node) => Math.max(largest, node.tokens), 1);
      this.nodes.setNodes(
        graph.nodes.map((node) => {
          const position = positions.get(node.path) ?? { x: 0, y: 0 };
          return {
            id: node.path,
            x: position.x,
            y: position.y,
            // Diameter grows with the square root of tokens (area with tokens), 5 to 28 px at zoom 1.
            size: 5 + 23 * Math.sqrt(node.tokens / maxTokens),
            // Colour and fading come next, from `applyFilter`, as for a graph that kept its files.
            colour: undefined,
            faded: false,
          } satisfies DrawnNode;
        }),
      );
      this.edges.setEdges(graph.edges, positions);
      this.hovered = -1;
      this.tooltip.hidden = true;
    }
    this.neighbours = new Map(graph.nodes.map((node) => [node.path, []]));
    for (const edge of graph.edges) {
      this.neighbours.get(edge.source)?.push({ path: edge.target, weight: edge.weight });
      this.neighbours.get(edge.target)?.push({ path: edge.source, weight: edge.weight });
    }
    for (const list of this.neighbours.values()) list.sort((a, b) => b.weight - a.weight);
    this.nodeKey = key;
    this.applyFilter();
    this.nodes.setSelected(this.selected);
    if (!sameFiles) {
      this.fitted = false;
      this.fit();
    }
    this.renderLegend();
    this.setCounts(graph.nodes.length, this.edges.count, layoutMs);
    this.edgesStale = true;
    this.scheduleFrame();
    return layoutMs;
  }

  /** Colours nodes by measured loss; call after node losses changed. */
  updateLosses(nodes: readonly PanelGraphNode[]): void {
    this.graphNodes = nodes;
    this.restyle();
    this.renderLegend();
    this.scheduleFrame();
  }

  setColourBy(colourBy: ColourBy, nodes: readonly PanelGraphNode[]): void {
    this.colourBy = colourBy;
    this.graphNodes = nodes;
    this.restyle();
    this.renderLegend();
    this.scheduleFrame();
  }

  /** Fades every file whose path does not contain `text` (case-insensitive); returns how many match. */
  setFilter(text: string): number {
    this.filter = text.trim().toLowerCase();
    const matches = this.applyFilter();
    this.edgesStale = true;
    this.scheduleFrame();
    return matches;
  }

  select(path: string | undefined): void {
    this.selected = path;
    this.nodes.setSelected(path);
    this.element.dataset.selected = path ?? '';
    this.scheduleFrame();
  }

  /** Re-reads theme colours. */
  retheme(nodes: readonly PanelGraphNode[]): void {
    this.readThemeColours();
    this.graphNodes = nodes;
    this.restyle();
    this.renderLegend();
    this.edgesStale = true;
    this.scheduleFrame();
  }

  resize(): void {
    if (!this.fitted) this.fit();
    this.edgesStale = true;
    this.scheduleFrame();
  }

  private readThemeColours(): void {
    this.edges.setColour(themeColour('--vscode-editor-foreground', '#333333'));
    this.nodes.setColours({
      hollow: themeColour('--vscode-descriptionForeground', '#717171'),
      selection: themeColour('--vscode-focusBorder', '#007fd4'),
      label: themeColour('--vscode-editor-foreground', '#333333'),
      labelBackground: themeColour('--vscode-editor-background', '#ffffff'),
    });
  }

  /** Fits every node into the canvas with `FIT_PADDING_PX` around, zooming in no further than `MAX_ZOOM`. */
  private fit(): void {
    const bounds = this.nodes.bounds();
    const width = this.canvasHost.clientWidth;
    const height = this.canvasHost.clientHeight;
    if (bounds === undefined || width === 0 || height === 0) return;
    const zoom = Math.max(
      MIN_ZOOM,
      Math.min(MAX_ZOOM, (width - 2 * FIT_PADDING_PX) / Math.max(1, bounds.x2 - bounds.x1), (height - 2 * FIT_PADDING_PX) / Math.max(1, bounds.y2 - bounds.y1)),
    );
    this.viewport = {
      zoom,
      pan: { x: width / 2 - ((bounds.x1 + bounds.x2) / 2) * zoom, y: height / 2 - ((bounds.y1 + bounds.y2) / 2) * zoom },
    };
    this.element.dataset.zoom = zoom.toFixed(4);
    this.fitted = true;
  }

  private onWheel(event: WheelEvent): void {
    event.preventDefault();
    const box = this.canvasHost.getBoundingClientRect();
    const x = event.clientX - box.left;
    const y = event.clientY - box.top;
    // 120 px of wheel (one notch) zooms by about a fifth, about the pointer.
    const zoom = Math.max(MIN_ZOOM, Math.min(MAX_ZOOM, this.viewport.zoom * Math.pow(2, -wheelPixels(event) / 360)));
    const scale = zoom / this.viewport.zoom;
    this.moveTo({ zoom, pan: { x: x - (x - this.viewport.pan.x) * scale, y: y - (y - this.viewport.pan.y) * scale } });
  }

  private onPointerDown(event: PointerEvent): void {
    if (event.button !== 0) return;
    this.press = { x: event.clientX, y: event.clientY, panX: this.viewport.pan.x, panY: this.viewport.pan.y, moved: false, pointer: event.pointerId };
  }

  private onPointerMove(event: PointerEvent): void {
    const press = this.press;
    if (press !== undefined && (event.buttons & 1) === 1) {
      const dx = event.clientX - press.x;
      const dy = event.clientY - press.y;
      if (!press.moved && Math.hypot(dx, dy) < CLICK_SLOP_PX) return;
      if (!press.moved) {
        press.moved = true;
        this.canvasHost.setPointerCapture(press.pointer);
      }
      this.moveTo({ zoom: this.viewport.zoom, pan: { x: press.panX + dx, y: press.panY + dy } });
      return;
    }
    const box = this.canvasHost.getBoundingClientRect();
    this.hover(this.nodes.hit(event.clientX - box.left, event.clientY - box.top, this.viewport));
  }

  private onPointerUp(event: PointerEvent): void {
    const press = this.press;
    this.press = undefined;
    if (press === undefined || press.moved) return;
    const box = this.canvasHost.getBoundingClientRect();
    const index = this.nodes.hit(event.clientX - box.left, event.clientY - box.top, this.viewport);
    const node = this.nodes.node(index);
    if (node === undefined) return;
    this.select(node.id);
    this.onSelect(node.id);
  }

  private moveTo(viewport: Viewport): void {
    this.viewport = viewport;
    this.moving = true;
    this.hover(-1);
    clearTimeout(this.viewportSettled);
    this.viewportSettled = setTimeout(() => {
      this.moving = false;
      this.edgesStale = true;
      this.element.dataset.zoom = this.viewport.zoom.toFixed(4);
      this.scheduleFrame();
    }, EDGES_AFTER_VIEWPORT_MS);
    this.scheduleFrame();
  }

  /** Draws on the next frame (several requests in one frame draw once). */
  private scheduleFrame(): void {
    if (this.frame !== 0) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.drawFrame();
    });
  }

  private drawFrame(): void {
    const started = performance.now();
    this.nodes.draw(this.viewport, this.moving ? MOVING_RESOLUTION : 1);
    this.element.dataset.nodeDrawMs = (performance.now() - started).toFixed(1);
    if (this.edgesStale && !this.moving) {
      const edgesStarted = performance.now();
      this.edges.draw(this.viewport.zoom, this.viewport.pan);
      this.element.dataset.edgeDrawMs = (performance.now() - edgesStarted).toFixed(1);
      this.edgesDrawnAt = { zoom: this.viewport.zoom, pan: { ...this.viewport.pan } };
      this.edgesStale = false;
    }
    // rendered = drawn × scale + shift, so the edge bitmap follows the nodes until it is redrawn.
    const scale = this.viewport.zoom / this.edgesDrawnAt.zoom;
    const shiftX = this.viewport.pan.x - this.edgesDrawnAt.pan.x * scale;
    const shiftY = this.viewport.pan.y - this.edgesDrawnAt.pan.y * scale;
    this.edges.canvas.style.transform = scale === 1 && shiftX === 0 && shiftY === 0 ? '' : `translate(${shiftX}px, ${shiftY}px) scale(${scale})`;
  }

  private hover(index: number): void {
    if (index === this.hovered) return;
    this.hovered = index;
    this.canvasHost.style.cursor = index >= 0 ? 'pointer' : '';
    const node = this.nodes.node(index);
    if (node === undefined) {
      this.tooltip.hidden = true;
      return;
    }
    this.showTooltip(index, node.id);
  }

  private setCounts(nodes: number, edges: number, layoutMs: number): void {
    this.element.dataset.nodes = String(nodes);
    this.element.dataset.edges = String(edges);
    this.element.dataset.layoutMs = layoutMs.toFixed(1);
  }

  private colourFunction(nodes: readonly PanelGraphNode[]): (node: PanelGraphNode) => string | undefined {
    if (this.colourBy === 'community') return (node) => communityColour(node.community);
    const { min, max } = this.lossRange(nodes);
    return (node) => {
      const loss = shownLoss(node);
      return loss === undefined ? undefined : lossColour(loss, min, max);
    };
  }

  private lossRange(nodes: readonly PanelGraphNode[]): { min: number; max: number } {
    let min = Infinity;
    let max = -Infinity;
    for (const node of nodes) {
      const loss = shownLoss(node);
      if (loss === undefined) continue;
      min = Math.min(min, loss);
      max = Math.max(max, loss);
    }
    return { min, max };
  }

  private matchesFilter(path: string): boolean {
    return this.filter === '' || path.toLowerCase().includes(this.filter);
  }

  private restyle(): void {
    const colourOf = this.colourFunction(this.graphNodes);
    const byPath = new Map(this.graphNodes.map((node) => [node.path, node]));
    this.nodes.restyle(
      (path) => {
        const node = byPath.get(path);
        return node === undefined ? undefined : colourOf(node);
      },
      (path) => !this.matchesFilter(path),
    );
    this.element.dataset.colourBy = this.colourBy;
    this.element.dataset.hollow = String(this.graphNodes.filter((node) => colourOf(node) === undefined).length);
  }

  private applyFilter(): number {
    let matches = 0;
    for (const node of this.graphNodes) if (this.matchesFilter(node.path)) matches++;
    this.restyle();
    this.edges.setVisibleNodes((path) => this.matchesFilter(path));
    this.element.dataset.matches = String(matches);
    return matches;
  }

  /**
   * The legend says what the colours mean: for loss, which loss (after
   * adaptation, before it, or after where measured and before elsewhere),
   * its range, and the hollow ring of files with no loss yet.
   */
  private renderLegend(): void {
    const nodes = this.graphNodes;
    const swatch = (className: string, background?: string): HTMLElement => {
      const element = document.createElement('span');
      element.className = `swatch ${className}`;
      // Through CSSOM: the webview's CSP refuses style attributes.
      if (background !== undefined) element.style.background = background;
      return element;
    };
    const text = (value: string, className?: string): HTMLElement => {
      const element = document.createElement('span');
      element.textContent = value;
      if (className !== undefined) element.className = className;
      return element;
    };
    if (this.colourBy === 'community') {
      const communities = new Set(nodes.map((node) => node.community)).size;
      this.legend.dataset.colourBy = 'community';
      this.legend.dataset.lossShown = '';
      this.legend.replaceChildren(text(`Colour: community (${communities} ${communities === 1 ? 'community' : 'communities'})`, 'legend-title'));
      return;
    }
    const after = nodes.filter((node) => node.lossAfter !== undefined).length;
    const beforeOnly = nodes.filter((node) => node.lossAfter === undefined && node.lossBefore !== undefined).length;
    const none = nodes.length - after - beforeOnly;
    const shown: LossShown = after > 0 && beforeOnly > 0 ? 'mixed' : after > 0 ? 'after' : beforeOnly > 0 ? 'before' : 'none';
    const title =
      shown === 'after'
        ? 'Colour: query loss after adaptation'
        : shown === 'before'
          ? 'Colour: query loss before adaptation (k = 0)'
          : shown === 'mixed'
            ? `Colour: query loss after adaptation (${after} files), else before adaptation (k = 0, ${beforeOnly} files)`
            : 'Colour: query loss (none measured yet)';
    const parts: HTMLElement[] = [text(title, 'legend-title')];
    if (shown !== 'none') {
      const { min, max } = this.lossRange(nodes);
      parts.push(
        text(`${min.toFixed(2)}`, 'legend-min'),
        swatch('gradient', `linear-gradient(to right, ${lossColour(min, min, max)}, ${lossColour((min + max) / 2, min, max)}, ${lossColour(max, min, max)})`),
        text(`${max.toFixed(2)} nats/token`, 'legend-max'),
      );
    }
    parts.push(swatch('hollow'), text(`no loss yet (${none} ${none === 1 ? 'file' : 'files'})`, 'legend-none'));
    this.legend.dataset.colourBy = 'loss';
    this.legend.dataset.lossShown = shown;
    this.legend.dataset.unmeasured = String(none);
    this.legend.replaceChildren(...parts);
  }

  private showTooltip(index: number, path: string): void {
    const node = this.graphNodes.find((candidate) => candidate.path === path);
    if (node === undefined) return;
    const neighbours = this.neighbours.get(path) ?? [];
    const lines: [string, string][] = [
      ['Loss before', formatLoss(node.lossBefore)],
      ['Loss after', formatLoss(node.lossAfter)],
      ['Tokens', String(node.tokens)],
      ['Community', String(node.community)],
    ];
    const title = document.createElement('strong');
    title.textContent = path;
    const table = document.createElement('dl');
    for (const [term, value] of lines) {
      const dt = document.createElement('dt');
      dt.textContent = term;
      const dd = document.createElement('dd');
      dd.textContent = value;
      table.append(dt, dd);
    }
    const list = document.createElement('ul');
    for (const neighbour of neighbours.slice(0, 8)) {
      const item = document.createElement('li');
      item.textContent = `${neighbour.path} (${neighbour.weight.toFixed(2)})`;
      list.append(item);
    }
    const neighboursTitle = document.createElement('span');
    neighboursTitle.textContent = neighbours.length === 0 ? 'No neighbours' : `Neighbours (${neighbours.length})`;
    this.tooltip.replaceChildren(title, table, neighboursTitle, list);
    const position = this.nodes.rendered(index, this.viewport);
    this.tooltip.style.left = `${Math.round(this.canvasHost.offsetLeft + position.x + 12)}px`;
    this.tooltip.style.top = `${Math.round(this.canvasHost.offsetTop + position.y + 12)}px`;
    this.tooltip.hidden = false;
    this.tooltip.dataset.path = path;
  }
}
