// Type guards and the quoting of bad values, shared by the protocol validators.
// Validators meet anything a worker or a webview can send, so nothing here may
// throw, whatever the value (BigInt, symbol, cyclic object, null prototype).

/** Quoted values are cut to this many characters: a message about bad input stays one short line. */
export const MAX_QUOTED_CHARS = 60;

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The items of `value` if it is an array, read by index into a plain array:
 * an input may have replaced an array's prototype, methods or iterator.
 */
export function itemsOf(value: unknown): unknown[] | undefined {
  if (!Array.isArray(value)) return undefined;
  const items = new Array<unknown>(value.length);
  for (let index = 0; index < value.length; index++) items[index] = value[index];
  return items;
}

export function isFiniteNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

export function isNonNegativeInteger(value: unknown): value is number {
  return Number.isInteger(value) && (value as number) >= 0;
}

/**
 * `value` as an error message may show it: a string in quotes, a number or
 * BigInt as written, anything else by its kind; at most MAX_QUOTED_CHARS long.
 */
export function quote(value: unknown): string {
  switch (typeof value) {
    case 'string':
      return value.length > MAX_QUOTED_CHARS ? `${JSON.stringify(value.slice(0, MAX_QUOTED_CHARS))}…` : JSON.stringify(value);
    case 'number':
      return Object.is(value, -0) ? '-0' : String(value);
    case 'bigint':
      return cap(`${value.toString()}n`);
    case 'boolean':
    case 'undefined':
      return String(value);
    case 'symbol':
      return 'a symbol';
    case 'function':
      return 'a function';
    default:
      return value === null ? 'null' : Array.isArray(value) ? 'an array' : 'an object';
  }
}

function cap(text: string): string {
  return text.length > MAX_QUOTED_CHARS ? `${text.slice(0, MAX_QUOTED_CHARS)}…` : text;
}
