import uPlot from 'uplot';
import { themeColour } from '../theme';

/** One line of a chart; `null` where it has no value at that x. */
export interface ChartSeries {
  label: string;
  values: (number | null)[];
  /** Draw dashed (a baseline). */
  dashed?: boolean;
}

export interface ChartOptions {
  /** Stable name: the element id, and the file name of exports. */
  name: string;
  title: string;
  xLabel: string;
  yLabel: string;
  height?: number;
}

/** Line colours that read on light, dark and high-contrast backgrounds; the first matches the theme's chart blue. */
const LINE_COLOURS = ['--vscode-charts-blue', '--vscode-charts-orange', '--vscode-charts-green', '--vscode-charts-purple', '--vscode-charts-red', '--vscode-charts-yellow'];
const FALLBACK_COLOURS = ['#3794ff', '#d18616', '#89d185', '#b180d7', '#f14c4c', '#cca700'];

function lineColour(index: number): string {
  return themeColour(LINE_COLOURS[index % LINE_COLOURS.length], FALLBACK_COLOURS[index % FALLBACK_COLOURS.length]);
}

/** x values shared by several curves that each have their own x: the sorted union, with gaps as null. */
export function alignSeries(curves: { label: string; x: number[]; y: number[] }[]): { x: number[]; series: ChartSeries[] } {
  if (curves.length === 1) return { x: curves[0].x, series: [{ label: curves[0].label, values: curves[0].y }] };
  const xs = [...new Set(curves.flatMap((curve) => curve.x))].sort((a, b) => a - b);
  const position = new Map(xs.map((value, index) => [value, index]));
  const series = curves.map((curve) => {
    const values: (number | null)[] = new Array<number | null>(xs.length).fill(null);
    curve.x.forEach((value, index) => (values[position.get(value) as number] = curve.y[index]));
    return { label: curve.label, values };
  });
  return { x: xs, series };
}

function csvCell(value: string | number | null): string {
  if (value === null) return '';
  const text = String(value);
  return /[",\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** Rows of cells as CSV text. */
export function toCsv(rows: (string | number | null)[][]): string {
  return rows.map((row) => row.map(csvCell).join(',')).join('\n') + '\n';
}

/**
 * A line chart drawn by uPlot: a title, one canvas, a legend. New data
 * redraws in place; a change in the set of lines rebuilds the chart.
 */
export class LineChart {
  readonly element: HTMLElement;
  private readonly plotHost: HTMLElement;
  private readonly empty: HTMLElement;
  private plot: uPlot | undefined;
  private labels = '';
  private x: number[] = [];
  private series: ChartSeries[] = [];

  constructor(private readonly options: ChartOptions, private readonly exporters: { csv: (name: string, csv: string) => void; png: (name: string, dataUrl: string) => void }) {
    this.element = document.createElement('section');
    this.element.className = 'chart';
    this.element.id = `chart-${options.name}`;
    const header = document.createElement('header');
    const title = document.createElement('h2');
    title.textContent = options.title;
    header.append(title, this.exportButton('PNG', () => this.exportPng()), this.exportButton('CSV', () => this.exportCsv()));
    this.plotHost = document.createElement('div');
    this.plotHost.className = 'plot';
    this.empty = document.createElement('p');
    this.empty.className = 'empty';
    this.empty.textContent = 'No data yet.';
    this.element.append(header, this.empty, this.plotHost);
    this.element.dataset.points = '';
  }

  setTitle(text: string): void {
    const title = this.element.querySelector('h2');
    if (title !== null) title.textContent = text;
  }

  /** Replaces the chart's data; cheap when the lines are the same ones as before. */
  setData(x: number[], series: ChartSeries[]): void {
    this.x = x;
    this.series = series;
    this.element.dataset.points = series.map((line) => `${line.label}:${line.values.filter((value) => value !== null).length}`).join(',');
    const hasData = x.length > 0 && series.length > 0;
    this.empty.hidden = hasData;
    this.plotHost.hidden = !hasData;
    if (!hasData) {
      this.destroyPlot();
      return;
    }
    const labels = series.map((line) => `${line.label}${line.dashed === true ? ' (dashed)' : ''}`).join('\u0000');
    const data: uPlot.AlignedData = [x, ...series.map((line) => line.values)];
    if (this.plot !== undefined && labels === this.labels) {
      const plot = this.plot;
      // batch() draws now instead of on the next microtask, so a caller's timing covers the redraw.
      plot.batch(() => plot.setData(data));
      return;
    }
    this.labels = labels;
    this.rebuild(data);
  }

  /** Redraws with the current theme's colours. */
  retheme(): void {
    if (this.plot === undefined) return;
    this.rebuild([this.x, ...this.series.map((line) => line.values)]);
  }

  resize(): void {
    this.plot?.setSize({ width: this.width(), height: this.options.height ?? 180 });
  }

  csv(): string {
    return toCsv([[this.options.xLabel, ...this.series.map((line) => line.label)], ...this.x.map((value, row) => [value, ...this.series.map((line) => line.values[row])])]);
  }

  /** The chart with its title on the editor background, as a PNG data URL. */
  png(): string | undefined {
    if (this.plot === undefined) return undefined;
    const source = this.plot.ctx.canvas;
    const titleHeight = 28;
    const canvas = document.createElement('canvas');
    canvas.width = source.width;
    canvas.height = source.height + titleHeight;
    const context = canvas.getContext('2d');
    if (context === null) return undefined;
    context.fillStyle = themeColour('--vscode-editor-background', '#ffffff');
    context.fillRect(0, 0, canvas.width, canvas.height);
    context.fillStyle = themeColour('--vscode-editor-foreground', '#000000');
    context.font = '14px sans-serif';
    context.fillText(this.element.querySelector('h2')?.textContent ?? this.options.title, 8, 19);
    context.drawImage(source, 0, titleHeight);
    return canvas.toDataURL('image/png');
  }

  private exportPng(): void {
    const dataUrl = this.png();
    if (dataUrl !== undefined) this.exporters.png(this.options.name, dataUrl);
  }

  private exportCsv(): void {
    this.exporters.csv(this.options.name, this.csv());
  }

  private exportButton(label: string, onClick: () => void): HTMLButtonElement {
    const button = document.createElement('button');
    button.type = 'button';
    button.className = 'export';
    button.dataset.export = label.toLowerCase();
    button.textContent = label;
    button.title = `Export this chart as ${label}`;
    button.addEventListener('click', onClick);
    return button;
  }

  private width(): number {
    return Math.max(240, this.element.clientWidth - 8);
  }

  private destroyPlot(): void {
    this.plot?.destroy();
    this.plot = undefined;
    this.labels = '';
  }

  private rebuild(data: uPlot.AlignedData): void {
    this.plot?.destroy();
    const foreground = themeColour('--vscode-editor-foreground', '#333333');
    const grid = themeColour('--vscode-editorWidget-border', 'rgba(128,128,128,0.25)');
    const axis = (label: string): uPlot.Axis => ({ label, labelSize: 20, labelFont: '11px sans-serif', font: '11px sans-serif', stroke: foreground, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 } });
    this.plot = new uPlot(
      {
        width: this.width(),
        height: this.options.height ?? 180,
        scales: { x: { time: false } },
        axes: [axis(this.options.xLabel), axis(this.options.yLabel)],
        series: [
          { label: this.options.xLabel },
          ...this.series.map((line, index) => ({
            label: line.label,
            stroke: lineColour(index),
            width: 2,
            dash: line.dashed === true ? [6, 4] : undefined,
            spanGaps: true,
            points: { show: this.x.length <= 30 },
          })),
        ],
        legend: { show: true },
        cursor: { drag: { x: false, y: false } },
      },
      data,
      this.plotHost,
    );
  }
}
