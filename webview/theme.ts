/** The value of a `--vscode-*` theme variable, or `fallback` outside VS Code. Canvas drawing needs real colours, not `var()`. */
export function themeColour(variable: string, fallback: string): string {
  const value = getComputedStyle(document.documentElement).getPropertyValue(variable).trim();
  return value === '' ? fallback : value;
}

/** Calls `listener` when VS Code switches theme (it swaps the body's `vscode-light` / `vscode-dark` / `vscode-high-contrast` class). */
export function onThemeChange(listener: () => void): void {
  new MutationObserver(listener).observe(document.body, { attributes: true, attributeFilter: ['class'] });
}
