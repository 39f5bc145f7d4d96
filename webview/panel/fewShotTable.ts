import type { FewShotRow } from '../../src/protocol/trainingEvents';
import { toCsv } from '../charts/lineChart';

/**
 * The few-shot table, learners × k: each cell holds query entropy (bits per
 * token, lower is better) and MRR. A plain HTML table, exportable as CSV.
 */
export class FewShotTable {
  readonly element: HTMLElement;
  private readonly table: HTMLTableElement;
  private readonly empty: HTMLElement;
  private rows: FewShotRow[] = [];

  constructor(onExportCsv: (name: string, csv: string) => void) {
    this.element = document.createElement('section');
    this.element.className = 'chart fewshot';
    this.element.id = 'chart-fewshot';
    const header = document.createElement('header');
    const title = document.createElement('h2');
    title.textContent = 'Few-shot: entropy (bits/token) · MRR after k steps';
    const exportButton = document.createElement('button');
    exportButton.type = 'button';
    exportButton.className = 'export';
    exportButton.dataset.export = 'csv';
    exportButton.textContent = 'CSV';
    exportButton.title = 'Export this table as CSV';
    exportButton.addEventListener('click', () => onExportCsv('fewshot', this.csv()));
    header.append(title, exportButton);
    this.empty = document.createElement('p');
    this.empty.className = 'empty';
    this.empty.textContent = 'No few-shot evaluation yet.';
    this.table = document.createElement('table');
    this.element.append(header, this.empty, this.table);
  }

  setRows(rows: FewShotRow[]): void {
    this.rows = rows;
    this.empty.hidden = rows.length > 0;
    this.table.hidden = rows.length === 0;
    const learners = [...new Set(rows.map((row) => row.learner))];
    const ks = [...new Set(rows.map((row) => row.k))].sort((a, b) => a - b);
    const cell = new Map(rows.map((row) => [`${row.learner}\u0000${row.k}`, row]));
    const head = document.createElement('thead');
    const headRow = document.createElement('tr');
    headRow.append(this.cell('th', 'learner'), ...ks.map((k) => this.cell('th', `k = ${k}`)));
    head.append(headRow);
    const body = document.createElement('tbody');
    for (const learner of learners) {
      const row = document.createElement('tr');
      row.append(this.cell('th', learner));
      for (const k of ks) {
        const value = cell.get(`${learner}\u0000${k}`);
        row.append(this.cell('td', value === undefined ? '—' : `${value.entropy.toFixed(2)} · ${value.mrr.toFixed(3)}`));
      }
      body.append(row);
    }
    this.table.replaceChildren(head, body);
  }

  csv(): string {
    return toCsv([['learner', 'k', 'entropy_bits', 'mrr'], ...this.rows.map((row) => [row.learner, row.k, row.entropy, row.mrr])]);
  }

  private cell(tag: 'th' | 'td', text: string): HTMLTableCellElement {
    const element = document.createElement(tag);
    element.textContent = text;
    return element;
  }
}
