import type { TaskGraphSnapshot } from '../src/core/graph/taskGraph';
import { PANEL_PROTOCOL_VERSION, invalidHostToPanelMessage } from '../src/protocol/panelProtocol';
import type { HostToPanelMessage } from '../src/protocol/panelProtocol';
import { connectToHost } from './bridge';

/**
 * The panel's front end: validates what the host sends and shows the task
 * graph as its communities, each with its files, largest first.
 */
const host = connectToHost();
const root = document.getElementById('app') ?? document.body;

function element<K extends keyof HTMLElementTagNameMap>(tag: K, text?: string): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  return node;
}

function render(graph: TaskGraphSnapshot): void {
  const byCommunity = new Map<number, TaskGraphSnapshot['nodes']>();
  for (const node of graph.nodes) {
    const members = byCommunity.get(node.community) ?? [];
    members.push(node);
    byCommunity.set(node.community, members);
  }
  const summary = element('p', `${graph.nodes.length} files, ${graph.edges.length} similarity edges, ${byCommunity.size} communities`);
  summary.className = 'summary';
  const list = element('ol');
  list.className = 'communities';
  for (const [community, members] of [...byCommunity].sort((a, b) => b[1].length - a[1].length)) {
    const item = element('li');
    item.dataset.community = String(community);
    item.append(element('h3', `Community ${community} (${members.length} files)`));
    const files = element('ul');
    for (const node of [...members].sort((a, b) => b.size - a.size)) files.append(element('li', `${node.id} — ${node.size} tokens`));
    item.append(files);
    list.append(item);
  }
  root.replaceChildren(summary, list);
}

function showError(text: string): void {
  const error = element('p', text);
  error.className = 'error';
  error.setAttribute('role', 'alert');
  root.replaceChildren(error);
}

window.addEventListener('message', (event: MessageEvent<unknown>) => {
  const problem = invalidHostToPanelMessage(event.data);
  if (problem !== undefined) {
    showError(`MetaComplete ignored a malformed message from the extension: ${problem}.`);
    return;
  }
  const message = event.data as HostToPanelMessage;
  host.setState({ seq: message.seq });
  render(message.graph);
});

host.postMessage({ type: 'panel/ready', version: PANEL_PROTOCOL_VERSION });
