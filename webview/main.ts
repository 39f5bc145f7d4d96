import './styles.css';
import 'uplot/dist/uPlot.min.css';
import { PANEL_PROTOCOL_VERSION, applyPanelChange, invalidHostToPanelMessage } from '../src/protocol/panelProtocol';
import type { HostToPanelMessage, PanelChange, PanelCommand, PanelState } from '../src/protocol/panelProtocol';
import { connectToHost } from './bridge';
import type { HostBridge } from './bridge';
import { LineChart, alignSeries } from './charts/lineChart';
import type { ChartSeries } from './charts/lineChart';
import { TaskGraphView } from './graph/taskGraphView';
import type { ColourBy } from './graph/taskGraphView';
import { ControlsView, LEARNER_LABELS } from './panel/controls';
import { FewShotTable } from './panel/fewShotTable';
import { onThemeChange } from './theme';
import { createDropdown, createTextField, registerToolkit } from './ui/toolkit';

/** What the page keeps across reloads through `setState`; the training state itself comes back in the host's snapshot. */
interface SavedUiState {
  colourBy: ColourBy;
  filter: string;
}

function savedUiState(value: unknown): SavedUiState {
  const saved = (typeof value === 'object' && value !== null ? value : {}) as Partial<SavedUiState>;
  return {
    colourBy: saved.colourBy === 'community' ? 'community' : 'loss',
    filter: typeof saved.filter === 'string' ? saved.filter : '',
  };
}

/**
 * The training panel's page: folds the host's snapshot and numbered deltas
 * into a `PanelState` (with the protocol's own `applyPanelChange`), asks for
 * a snapshot when a delta is missing, and redraws only what a change touched.
 */
class TrainingPage {
  private state: PanelState | undefined;
  private seq = -1;
  private awaitingResync = false;
  private readonly ui: SavedUiState;
  private readonly notice: HTMLElement;
  private readonly controls: ControlsView;
  private readonly graph: TaskGraphView;
  private readonly outerChart: LineChart;
  private readonly adaptationChart: LineChart;
  private readonly onlineChart: LineChart;
  private readonly fewShot: FewShotTable;
  private readonly matches: HTMLElement;

  constructor(private readonly host: HostBridge, root: HTMLElement) {
    this.ui = savedUiState(host.getState());
    const exporters = {
      csv: (chart: string, csv: string) => this.send({ kind: 'exportCsv', chart, csv }),
      png: (chart: string, dataUrl: string) => this.send({ kind: 'exportPng', chart, dataUrl }),
    };
    this.notice = document.createElement('div');
    this.notice.className = 'notice';
    this.notice.id = 'notice';
    this.notice.setAttribute('role', 'status');
    this.notice.hidden = true;
    this.controls = new ControlsView((command) => this.send(command));
    this.graph = new TaskGraphView((path) => this.send({ kind: 'selectTask', path }));
    this.outerChart = new LineChart({ name: 'outer-loss', title: 'Meta-training: outer loss', xLabel: 'outer step', yLabel: 'query loss, nats/token' }, exporters);
    this.adaptationChart = new LineChart({ name: 'adaptation', title: 'Adaptation: query loss vs k', xLabel: 'inner steps k', yLabel: 'query loss, nats/token' }, exporters);
    this.onlineChart = new LineChart({ name: 'online-loss', title: 'Online loss while typing', xLabel: 'tokens typed', yLabel: 'loss, nats/token' }, exporters);
    this.fewShot = new FewShotTable(exporters.csv);

    const toolbar = document.createElement('div');
    toolbar.className = 'graph-toolbar';
    const search = createTextField('graph-filter', 'Filter by path', {
      placeholder: 'e.g. src/core',
      onInput: (text) => this.setFilter(text),
    });
    search.setValue(this.ui.filter);
    const colourBy = createDropdown<ColourBy>(
      'colour-by',
      'Colour by',
      [
        { value: 'loss', label: 'Query loss' },
        { value: 'community', label: 'Community' },
      ],
      (value) => this.setColourBy(value),
    );
    colourBy.setValue(this.ui.colourBy);
    this.matches = document.createElement('span');
    this.matches.className = 'matches';
    this.matches.id = 'graph-matches';
    toolbar.append(search.element, colourBy.element, this.matches);
    this.graph.element.prepend(toolbar);

    const charts = document.createElement('div');
    charts.className = 'charts';
    charts.append(this.outerChart.element, this.adaptationChart.element, this.onlineChart.element, this.fewShot.element);
    const body = document.createElement('div');
    body.className = 'body';
    body.append(this.graph.element, charts);
    root.replaceChildren(this.notice, this.controls.element, body);

    this.graph.setColourBy(this.ui.colourBy, []);
    this.graph.setFilter(this.ui.filter);
    onThemeChange(() => this.retheme());
    new ResizeObserver(() => this.resize()).observe(root);
  }

  receive(data: unknown): void {
    const problem = invalidHostToPanelMessage(data);
    if (problem !== undefined) {
      console.warn(`MetaComplete panel ignored a malformed message: ${problem}`);
      this.showNotice('error', `MetaComplete ignored a malformed message from the extension: ${problem}.`);
      return;
    }
    const message = data as HostToPanelMessage;
    switch (message.type) {
      case 'panel/snapshot':
        this.awaitingResync = false;
        // A snapshot at the seq already shown holds the same state (the host sends one on every reveal).
        if (this.state !== undefined && message.seq === this.seq) return;
        this.state = message.state;
        this.setSeq(message.seq);
        this.renderAll();
        return;
      case 'panel/delta':
        if (this.state === undefined || message.seq <= this.seq) return;
        if (message.seq !== this.seq + 1) {
          // Something was lost: nothing after the gap can be applied until a snapshot arrives.
          if (!this.awaitingResync) {
            this.awaitingResync = true;
            document.body.dataset.resyncs = String(Number(document.body.dataset.resyncs ?? '0') + 1);
            this.host.postMessage({ type: 'panel/resync', version: PANEL_PROTOCOL_VERSION, lastSeq: this.seq });
          }
          return;
        }
        applyPanelChange(this.state, message.change);
        this.setSeq(message.seq);
        this.render(message.change);
        return;
      case 'panel/notice':
        this.showNotice(message.level, message.text);
        // A refused setting leaves the field showing what the user typed: show the confirmed value again.
        if (message.level === 'error' && this.state !== undefined) this.controls.render(this.state.controls, this.state.training);
        return;
    }
  }

  private send(command: PanelCommand): void {
    this.host.postMessage({ type: 'panel/command', version: PANEL_PROTOCOL_VERSION, command });
  }

  private setSeq(seq: number): void {
    this.seq = seq;
    document.body.dataset.seq = String(seq);
  }

  private saveUi(): void {
    this.host.setState({ ...this.ui });
  }

  private setFilter(text: string): void {
    this.ui.filter = text;
    this.saveUi();
    this.graph.setFilter(text);
    this.showMatches();
  }

  /** "n of N files match" under an active filter (the graph applies the filter itself when it is redrawn). */
  private showMatches(): void {
    const matches = this.graph.element.dataset.matches ?? '0';
    this.matches.textContent = this.ui.filter.trim() === '' ? '' : `${matches} of ${this.state?.graph.nodes.length ?? 0} files match`;
  }

  private setColourBy(colourBy: ColourBy): void {
    this.ui.colourBy = colourBy;
    this.saveUi();
    this.graph.setColourBy(colourBy, this.state?.graph.nodes ?? []);
  }

  private showNotice(level: 'info' | 'error', text: string): void {
    this.notice.textContent = text;
    this.notice.dataset.level = level;
    this.notice.hidden = false;
  }

  private renderAll(): void {
    const state = this.state;
    if (state === undefined) return;
    this.controls.render(state.controls, state.training);
    this.graph.setGraph(state.graph);
    this.graph.select(state.selectedTask);
    this.showMatches();
    this.renderOuter();
    this.renderAdaptation();
    this.renderOnline();
    this.fewShot.setRows(state.curves.fewShot);
    document.body.dataset.rendered = String(this.seq);
  }

  private render(change: PanelChange): void {
    const state = this.state;
    if (state === undefined) return;
    switch (change.kind) {
      case 'graph':
        this.graph.setGraph(state.graph);
        this.showMatches();
        break;
      case 'controls':
        this.controls.render(state.controls, state.training);
        break;
      case 'backend':
        this.controls.renderTraining(state.training);
        break;
      case 'selection':
        this.graph.select(state.selectedTask);
        this.renderAdaptation();
        break;
      case 'training':
        switch (change.event.type) {
          case 'training-state':
          case 'pretrain-epoch':
            this.controls.renderTraining(state.training);
            break;
          case 'outer-step':
            this.renderOuter();
            break;
          case 'adaptation-curve':
            if (change.event.task === state.selectedTask) {
              this.graph.select(state.selectedTask);
              this.renderAdaptation();
            }
            break;
          case 'task-losses':
            this.graph.updateLosses(state.graph.nodes);
            break;
          case 'online-loss':
            this.renderOnline();
            break;
          case 'fewshot-table':
            this.fewShot.setRows(state.curves.fewShot);
            break;
        }
        break;
    }
    document.body.dataset.rendered = String(this.seq);
  }

  private renderOuter(): void {
    const curves = this.state?.curves.outerLoss ?? [];
    const { x, series } = alignSeries(curves.map((curve) => ({ label: LEARNER_LABELS[curve.learner], x: curve.points.x, y: curve.points.y })));
    this.outerChart.setData(curves.length === 0 ? [] : x, series);
  }

  private renderAdaptation(): void {
    const adaptation = this.state?.curves.adaptation;
    const task = this.state?.selectedTask;
    this.adaptationChart.setTitle(task === undefined ? 'Adaptation: query loss vs k' : `Adaptation: query loss vs k — ${task}`);
    if (adaptation === undefined) {
      this.adaptationChart.setData([], []);
      return;
    }
    const length = Math.max(0, ...adaptation.curves.map((curve) => curve.queryLoss.length), adaptation.baseline?.length ?? 0);
    const x = Array.from({ length }, (_, k) => k);
    const pad = (values: number[]): (number | null)[] => x.map((k) => values[k] ?? null);
    const series: ChartSeries[] = adaptation.curves.map((curve) => ({ label: LEARNER_LABELS[curve.learner], values: pad(curve.queryLoss) }));
    if (adaptation.baseline !== undefined) series.push({ label: 'Transfer baseline', values: pad(adaptation.baseline), dashed: true });
    this.adaptationChart.setData(x, series);
  }

  private renderOnline(): void {
    const online = this.state?.curves.online;
    this.onlineChart.setTitle(online === undefined ? 'Online loss while typing' : `Online loss while typing — ${online.task}`);
    if (online === undefined) {
      this.onlineChart.setData([], []);
      return;
    }
    this.onlineChart.setData(online.points.x, [{ label: 'online loss', values: online.points.y }]);
  }

  private retheme(): void {
    this.graph.retheme(this.state?.graph.nodes ?? []);
    for (const chart of [this.outerChart, this.adaptationChart, this.onlineChart]) chart.retheme();
  }

  private resize(): void {
    this.graph.resize();
    for (const chart of [this.outerChart, this.adaptationChart, this.onlineChart]) chart.resize();
  }
}

registerToolkit();
const host = connectToHost();
const page = new TrainingPage(host, document.getElementById('app') ?? document.body);
window.addEventListener('message', (event: MessageEvent<unknown>) => page.receive(event.data));
host.postMessage({ type: 'panel/ready', version: PANEL_PROTOCOL_VERSION });
