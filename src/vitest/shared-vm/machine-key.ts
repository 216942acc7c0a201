/**
 * The key under which a worker keeps a reusable machine: the machine's fully resolved options
 * (project defaults, describe defaults, the `useVm` options and the default image's boot files),
 * written out with sorted keys so that two equal option sets give the same key in any order.
 */

export function machineOptionsKey(options: object): string {
  return JSON.stringify(normalize(options));
}

function normalize(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return typeof value === 'function' ? `function ${value.name}` : value;
  if (value instanceof RegExp) return `RegExp ${String(value)}`;
  if (value instanceof Date) return `Date ${value.toISOString()}`;
  if (value instanceof URL) return `URL ${value.href}`;
  if (ArrayBuffer.isView(value)) return `bytes ${Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64')}`;
  if (Array.isArray(value)) return value.map((item) => (item === undefined ? null : normalize(item)));
  const sorted: Record<string, unknown> = {};
  for (const key of Object.keys(value).sort()) {
    const item = (value as Record<string, unknown>)[key];
    if (item !== undefined) sorted[key] = normalize(item);
  }
  return sorted;
}
