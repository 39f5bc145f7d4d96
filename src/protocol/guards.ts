// Type guards shared by the protocol validators (bad values are shown with core's describeValue).
// Validators meet anything a worker or a webview can send, so nothing here may
// throw, whatever the value (BigInt, symbol, cyclic object, null prototype).

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
