/** Input quoted in an error message is cut to this many characters, so a hostile file or argument cannot flood a log or a notification. */
export const MAX_QUOTED_CHARS = 60;

/** `text` in double quotes (JSON escapes), cut with "…" after `maxChars` characters. */
export function quoted(text: string, maxChars = MAX_QUOTED_CHARS): string {
  const cut = text.length > maxChars ? `${text.slice(0, maxChars)}…` : text;
  return JSON.stringify(cut);
}

/** A value of unknown type as an error message may show it: strings and numbers quoted short, anything else by its type. */
export function describeValue(value: unknown): string {
  if (typeof value === 'string') return quoted(value);
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return quoted(String(value));
  if (Array.isArray(value)) return 'a list';
  return typeof value === 'object' ? 'an object' : typeof value;
}
