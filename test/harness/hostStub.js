// Stands in for VS Code around the built webview bundle. Query parameters:
//   theme=light|dark|high-contrast   which --vscode-* variable set (themes.css) applies;
//   state=<JSON>                      what getState() returns, as after a window reload.
// The test reads window.harness.posted (every message the page sent) and
// window.harness.state (the last setState), and delivers host messages with
// window.harness.deliver(message).
(function () {
  const params = new URLSearchParams(location.search);
  const theme = params.get('theme') || 'light';
  document.documentElement.dataset.theme = theme;
  const stateParam = params.get('state');
  const harness = {
    posted: [],
    state: stateParam === null ? undefined : JSON.parse(stateParam),
    deliver(message) {
      window.dispatchEvent(new MessageEvent('message', { data: message }));
    },
  };
  window.harness = harness;
  window.metacompleteHostBridge = {
    postMessage(message) {
      harness.posted.push(JSON.parse(JSON.stringify(message)));
    },
    getState() {
      return harness.state;
    },
    setState(state) {
      harness.state = JSON.parse(JSON.stringify(state));
    },
  };
  document.addEventListener('DOMContentLoaded', () => document.body.classList.add(`vscode-${theme}`));
})();
