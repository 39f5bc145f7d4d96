import cytoscape from 'cytoscape';
import type { PanelGraph, PanelGraphNode } from '../../src/protocol/panelProtocol';
import { themeColour } from '../theme';
import { EdgeLayer } from './edgeLayer';
import { forceLayout } from './forceLayout';

export type ColourBy = 'loss' | 'community';

/** How long the view must rest after a pan or zoom before edges are drawn again. */
const EDGES_AFTER_VIEWPORT_MS = 150;

/** Twelve hues spaced around the wheel; communities beyond twelve reuse them. */
const COMMUNITY_HUES = [210, 30, 120, 280, 0, 55, 175, 320, 90, 245, 150, 15];

function communityColour(community: number): string {
  return `hsl(${COMMUNITY_HUES[((community % COMMUNITY_HUES.length) + COMMUNITY_HUES.length) % COMMUNITY_HUES.length]}, 65%, 52%)`;
}

/** Low loss green, high loss red, over the range of losses shown. */
function lossColour(loss: number, min: number, max: number): string {
  const share = max > min ? (loss - min) / (max - min) : 0.5;
  // 24 steps of hue: enough to read, few enough for cytoscape's style cache.
  return `hsl(${Math.round(24 * (1 - share)) * 5}, 70%, 45%)`;
}

function formatLoss(loss: number | undefined): string {
  return loss === undefined ? 'not measured' : `${loss.toFixed(3)} nats/token`;
}

/**
 * The task graph drawn by cytoscape: files as nodes sized by tokens and
 * coloured by query loss (after adaptation) or community, similarity edges
 * with width by weight (on an `EdgeLayer` beneath), a tooltip on hover,
 * selection on click and a path filter. Positions come from `forceLayout`
 * and survive updates that keep the same files; nodes cannot be dragged, so
 * edges stay attached.
 */
export class TaskGraphView {
  readonly element: HTMLElement;
  private readonly canvasHost: HTMLElement;
  private readonly tooltip: HTMLElement;
  private readonly cy: cytoscape.Core;
  private readonly edges = new EdgeLayer();
  private positions = new Map<string, { x: number; y: number }>();
  private neighbours = new Map<string, { path: string; weight: number }[]>();
  private viewportSettled: ReturnType<typeof setTimeout> | undefined;
  private colourBy: ColourBy = 'loss';
  private filter = '';
  private nodeKey = '';
  private selected: string | undefined;

  constructor(private readonly onSelect: (path: string) => void) {
    this.element = document.createElement('section');
    this.element.className = 'graph';
    this.canvasHost = document.createElement('div');
    this.canvasHost.className = 'graph-canvas';
    this.canvasHost.id = 'task-graph';
    const nodeHost = document.createElement('div');
    nodeHost.className = 'node-layer';
    this.canvasHost.append(this.edges.canvas, nodeHost);
    this.tooltip = document.createElement('div');
    this.tooltip.className = 'tooltip';
    this.tooltip.setAttribute('role', 'tooltip');
    this.tooltip.hidden = true;
    this.element.append(this.canvasHost, this.tooltip);
    this.setCounts(0, 0, 0);
    this.cy = cytoscape({
      container: nodeHost,
      // The container is not in the document yet: no layout now, positions come from forceLayout.
      layout: { name: 'preset' },
      style: this.style(),
      // Panning and zooming a 2,000-node graph: draw a bitmap of it while the viewport moves.
      textureOnViewport: true,
      motionBlur: false,
      autoungrabify: true,
      minZoom: 0.05,
      maxZoom: 4,
      boxSelectionEnabled: false,
      autounselectify: true,
    });
    this.cy.on('mouseover', 'node', (event) => this.showTooltip(event.target as cytoscape.NodeSingular));
    this.cy.on('mouseout', 'node', () => (this.tooltip.hidden = true));
    this.cy.on('viewport', () => {
      this.tooltip.hidden = true;
      // Redrawing 15,000 edges each wheel step made zooming stutter: hide them while the view moves.
      this.edges.canvas.style.visibility = 'hidden';
      clearTimeout(this.viewportSettled);
      this.viewportSettled = setTimeout(() => this.redrawEdges(), EDGES_AFTER_VIEWPORT_MS);
    });
    this.edges.setColour(themeColour('--vscode-editor-foreground', '#333333'));
    this.cy.on('tap', 'node', (event) => {
      const path = (event.target as cytoscape.NodeSingular).id();
      this.select(path);
      this.onSelect(path);
    });
  }

  /** Draws `graph`; lays it out again only when its set of files changed. Returns the layout time in ms (0 when kept). */
  setGraph(graph: PanelGraph): number {
    const key = graph.nodes.map((node) => node.path).join('\n');
    const sameFiles = key === this.nodeKey && this.cy.nodes().length === graph.nodes.length;
    const look = this.nodeLook(graph.nodes);
    let layoutMs = 0;
    this.cy.resize();
    this.cy.batch(() => {
      if (sameFiles) {
        for (const node of graph.nodes) this.cy.getElementById(node.path).data(look(node));
        return;
      }
      const started = performance.now();
      const positions = forceLayout(
        graph.nodes.map((node) => ({ id: node.path, community: node.community })),
        graph.edges,
      );
      layoutMs = performance.now() - started;
      this.positions = positions;
      this.cy.elements().remove();
      // Colour, size and filter go in with the elements: one style pass for 2,000 nodes instead of three.
      this.cy.add([
        ...graph.nodes.map((node) => ({
          group: 'nodes' as const,
          data: look(node),
          position: positions.get(node.path),
          classes: this.matchesFilter(node.path) ? undefined : 'faded',
        })),
      ]);
    });
    this.edges.setEdges(graph.edges, this.positions);
    this.neighbours = new Map(graph.nodes.map((node) => [node.path, []]));
    for (const edge of graph.edges) {
      this.neighbours.get(edge.source)?.push({ path: edge.target, weight: edge.weight });
      this.neighbours.get(edge.target)?.push({ path: edge.source, weight: edge.weight });
    }
    for (const list of this.neighbours.values()) list.sort((a, b) => b.weight - a.weight);
    this.nodeKey = key;
    if (sameFiles || this.filter !== '') this.applyFilter();
    else {
      this.element.dataset.matches = String(graph.nodes.length);
      this.edges.setVisibleNodes(() => true);
    }
    if (this.selected !== undefined) this.select(this.selected);
    if (!sameFiles) this.cy.fit(undefined, 20);
    this.redrawEdges();
    this.setCounts(graph.nodes.length, this.edges.count, layoutMs);
    return layoutMs;
  }

  /** Colours nodes by measured loss; call after node losses changed. */
  updateLosses(nodes: readonly PanelGraphNode[]): void {
    this.cy.batch(() => {
      for (const node of nodes) {
        const element = this.cy.getElementById(node.path);
        if (element.nonempty()) element.data({ lossBefore: node.lossBefore, lossAfter: node.lossAfter });
      }
    });
    this.recolour(nodes);
  }

  setColourBy(colourBy: ColourBy, nodes: readonly PanelGraphNode[]): void {
    this.colourBy = colourBy;
    this.element.dataset.colourBy = colourBy;
    this.recolour(nodes);
  }

  /** Fades every file whose path does not contain `text` (case-insensitive); returns how many match. */
  setFilter(text: string): number {
    this.filter = text.trim().toLowerCase();
    return this.applyFilter();
  }

  select(path: string | undefined): void {
    this.selected = path;
    this.cy.nodes('.selected').removeClass('selected');
    if (path !== undefined) this.cy.getElementById(path).addClass('selected');
    this.element.dataset.selected = path ?? '';
  }

  /** Re-reads theme colours. */
  retheme(nodes: readonly PanelGraphNode[]): void {
    this.cy.style(this.style());
    this.edges.setColour(themeColour('--vscode-editor-foreground', '#333333'));
    this.recolour(nodes);
    this.redrawEdges();
  }

  resize(): void {
    this.cy.resize();
    this.redrawEdges();
  }

  private redrawEdges(): void {
    this.edges.scheduleDraw(() => this.cy.zoom(), () => this.cy.pan());
    this.edges.canvas.style.visibility = '';
  }

  private setCounts(nodes: number, edges: number, layoutMs: number): void {
    this.element.dataset.nodes = String(nodes);
    this.element.dataset.edges = String(edges);
    this.element.dataset.layoutMs = layoutMs.toFixed(1);
  }

  /**
   * Data for each node: size from tokens, colour from loss or community.
   * Sizes and colours are rounded to a few dozen distinct values: cytoscape
   * caches parsed style values, so shared values keep a 2,000-node update cheap.
   */
  private nodeLook(nodes: readonly PanelGraphNode[]): (node: PanelGraphNode) => Record<string, unknown> {
    const maxTokens = nodes.reduce((largest, node) => Math.max(largest, node.tokens), 1);
    const colourOf = this.colourFunction(nodes);
    return (node) => ({
      id: node.path,
      tokens: node.tokens,
      community: node.community,
      lossBefore: node.lossBefore,
      lossAfter: node.lossAfter,
      // Diameter grows with the square root of tokens (area with tokens), 5 to 28 px.
      size: Math.round(5 + 23 * Math.sqrt(node.tokens / maxTokens)),
      colour: colourOf(node),
    });
  }

  private colourFunction(nodes: readonly PanelGraphNode[]): (node: PanelGraphNode) => string {
    if (this.colourBy === 'community') return (node) => communityColour(node.community);
    let min = Infinity;
    let max = -Infinity;
    for (const node of nodes) {
      if (node.lossAfter === undefined) continue;
      min = Math.min(min, node.lossAfter);
      max = Math.max(max, node.lossAfter);
    }
    const unmeasured = themeColour('--vscode-disabledForeground', '#888888');
    return (node) => (node.lossAfter === undefined ? unmeasured : lossColour(node.lossAfter, min, max));
  }

  private matchesFilter(path: string): boolean {
    return this.filter === '' || path.toLowerCase().includes(this.filter);
  }

  private recolour(nodes: readonly PanelGraphNode[]): void {
    const colourOf = this.colourFunction(nodes);
    this.cy.batch(() => {
      for (const node of nodes) {
        const element = this.cy.getElementById(node.path);
        if (element.nonempty()) element.data('colour', colourOf(node));
      }
    });
    this.element.dataset.colourBy = this.colourBy;
  }

  private applyFilter(): number {
    let matches = 0;
    this.cy.batch(() => {
      this.cy.nodes().forEach((node) => {
        const match = this.matchesFilter(node.id());
        if (match) matches++;
        node.toggleClass('faded', !match);
      });
    });
    this.edges.setVisibleNodes((path) => this.matchesFilter(path));
    this.redrawEdges();
    this.element.dataset.matches = String(matches);
    return matches;
  }

  private showTooltip(node: cytoscape.NodeSingular): void {
    const neighbours = this.neighbours.get(node.id()) ?? [];
    const lines: [string, string][] = [
      ['Loss before', formatLoss(node.data('lossBefore') as number | undefined)],
      ['Loss after', formatLoss(node.data('lossAfter') as number | undefined)],
      ['Tokens', String(node.data('tokens'))],
      ['Community', String(node.data('community'))],
    ];
    const title = document.createElement('strong');
    title.textContent = node.id();
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
    const position = node.renderedPosition();
    this.tooltip.style.left = `${Math.round(position.x + 12)}px`;
    this.tooltip.style.top = `${Math.round(position.y + 12)}px`;
    this.tooltip.hidden = false;
  }

  private style(): cytoscape.StylesheetJson {
    const foreground = themeColour('--vscode-editor-foreground', '#333333');
    const focus = themeColour('--vscode-focusBorder', '#007fd4');
    return [
      {
        selector: 'node',
        style: {
          width: 'data(size)',
          height: 'data(size)',
          'background-color': 'data(colour)',
          'border-width': 0,
        },
      },
      { selector: '.faded', style: { opacity: 0.08 } },
      {
        selector: 'node.selected',
        style: {
          'border-width': 3,
          'border-color': focus,
          label: 'data(id)',
          color: foreground,
          'font-size': 11,
          'text-valign': 'top',
          'text-margin-y': -4,
          'text-background-color': themeColour('--vscode-editor-background', '#ffffff'),
          'text-background-opacity': 0.85,
          'text-background-padding': '2px',
          'z-index': 10,
        },
      },
    ];
  }
}
