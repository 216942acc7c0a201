/**
 * The guest's listening TCP sockets, read from /proc/net/tcp and /proc/net/tcp6 (see proc(5)):
 * one socket a line, `local_address` as hex `ADDRESS:PORT`, state `0A` for LISTEN.
 */

export interface ListeningSocket {
  /** The local address, e.g. `0.0.0.0`, `127.0.0.1`, `::` or `::1`. */
  address: string;
  port: number;
}

const TCP_LISTEN = '0A';

/** The listening sockets in the text of /proc/net/tcp, /proc/net/tcp6 or both one after the other; header lines are skipped. */
export function parseListeningSockets(text: string): ListeningSocket[] {
  const sockets: ListeningSocket[] = [];
  for (const line of text.split('\n')) {
    const columns = line.trim().split(/\s+/);
    if (!/^\d+:$/.test(columns[0] ?? '')) continue;
    const [, local, , state] = columns;
    const match = /^([0-9A-Fa-f]{8}|[0-9A-Fa-f]{32}):([0-9A-Fa-f]{4})$/.exec(local ?? '');
    if (!match || state?.toUpperCase() !== TCP_LISTEN) continue;
    const [, hexAddress = '', hexPort = ''] = match;
    sockets.push({ address: hexAddress.length === 8 ? ipv4(hexAddress) : ipv6(hexAddress), port: Number.parseInt(hexPort, 16) });
  }
  return sockets;
}

/** `22 (0.0.0.0, ::), 5355 (0.0.0.0)`, or `none`. */
export function describeListeningPorts(sockets: readonly ListeningSocket[]): string {
  const byPort = new Map<number, string[]>();
  for (const { address, port } of sockets) byPort.set(port, [...(byPort.get(port) ?? []), address]);
  const ports = [...byPort.keys()].sort((a, b) => a - b);
  return ports.map((port) => `${port} (${[...new Set(byPort.get(port))].join(', ')})`).join(', ') || 'none';
}

/** The kernel prints each 32-bit word of an address in host (little-endian) byte order. */
function wordBytes(hexWord: string): number[] {
  const bytes = [0, 2, 4, 6].map((offset) => Number.parseInt(hexWord.slice(offset, offset + 2), 16));
  return bytes.reverse();
}

function ipv4(hex: string): string {
  return wordBytes(hex).join('.');
}

function ipv6(hex: string): string {
  const bytes = [0, 8, 16, 24].flatMap((offset) => wordBytes(hex.slice(offset, offset + 8)));
  const groups = Array.from({ length: 8 }, (_, index) => ((bytes[index * 2] ?? 0) << 8) | (bytes[index * 2 + 1] ?? 0));
  if (groups.slice(0, 5).every((group) => group === 0) && groups[5] === 0xffff) {
    return `::ffff:${bytes.slice(12).join('.')}`;
  }
  return compressIpv6(groups.map((group) => group.toString(16)));
}

/** Replaces the longest run of two or more zero groups with `::`, as RFC 5952 writes addresses. */
function compressIpv6(groups: string[]): string {
  let best = { start: -1, length: 0 };
  for (let start = 0; start < groups.length; start++) {
    let length = 0;
    while (groups[start + length] === '0') length++;
    if (length > best.length) best = { start, length };
  }
  if (best.length < 2) return groups.join(':');
  const head = groups.slice(0, best.start).join(':');
  const tail = groups.slice(best.start + best.length).join(':');
  return `${head}::${tail}`;
}
