/**
 * Boot Loader Specification entries of an OS tree, and the one a `directory` boots when no `linux`
 * is given, chosen as systemd-vmspawn does (it loads them with systemd's bootspec code, the ESP at
 * `/efi` and the XBOOTLDR partition at `/boot`):
 *
 * - Type #1 entries: `loader/entries/*.conf` under `/efi` and `/boot`, with `linux`, `initrd` and
 *   `options` lines; their paths are relative to the root of the partition the entry is on.
 * - Type #2 entries: unified kernel images, `EFI/Linux/*.efi` under `/efi` and `/boot`.
 * - The default is the entry matching the `default` glob of the ESP's `loader/loader.conf`, or else
 *   the first one in systemd-boot's order: entries with boot tries left before those without; entries
 *   with `sort-key` before those without, by sort key, then machine ID, then version, newest first;
 *   then by ID (the file name without boot counter), newest version first; then more tries left first.
 *
 * Simplified: a UKI's embedded os-release (sort key, version) is not read, so UKIs order by file
 * name; `architecture` is not checked; Type #1 entries without a `linux` line (e.g. `efi` entries)
 * cannot be booted directly and are left out; `@saved` and EFI variables play no part. Like vmspawn,
 * the entry's `options` are parsed but not put on the command line: they describe the root of the
 * installed system, while this boot's root is the virtiofs share.
 */

export type BootEntryType = 'type1' | 'uki';

export interface BootEntry {
  type: BootEntryType;
  /** File name without the boot counter, e.g. `debian-6.12.conf`. */
  id: string;
  /** Root of the partition the entry is on, inside the tree: `/efi` or `/boot`. */
  partition: string;
  /** Path of the entry file inside the tree. */
  path: string;
  title?: string;
  version?: string;
  sortKey?: string;
  machineId?: string;
  /** Kernel path, relative to `partition` (for a UKI: the UKI itself). */
  linux?: string;
  initrds: string[];
  options: string[];
  /** Boot counting (`name+LEFT-DONE.conf`); undefined without a counter. */
  triesLeft?: number;
  triesDone?: number;
}

/** The partitions searched, in the order vmspawn hands them to bootspec: ESP, then XBOOTLDR. */
export const BOOT_PARTITIONS = ['/efi', '/boot'] as const;
export const TYPE1_ENTRIES_DIR = 'loader/entries';
export const UKI_DIR = 'EFI/Linux';
export const LOADER_CONF = '/efi/loader/loader.conf';

/** Splits `name+LEFT[-DONE].ext` into its ID (`name.ext`) and the counters. */
export function parseBootCounter(fileName: string): { id: string; triesLeft?: number; triesDone?: number } {
  const match = /^(.*)\+(\d+)(?:-(\d+))?(\.[^.+]+)$/.exec(fileName);
  if (!match) return { id: fileName };
  return { id: `${match[1]}${match[4]}`, triesLeft: Number(match[2]), triesDone: match[3] === undefined ? 0 : Number(match[3]) };
}

/** Parses a Type #1 entry (`key value` lines, `#` comments). */
export function parseType1Entry(partition: string, fileName: string, text: string): BootEntry {
  const entry: BootEntry = { type: 'type1', ...parseBootCounter(fileName), partition, path: `${partition}/${TYPE1_ENTRIES_DIR}/${fileName}`, initrds: [], options: [] };
  for (const rawLine of text.split('\n')) {
    const line = rawLine.trim();
    if (line === '' || line.startsWith('#')) continue;
    const [, key = '', value = ''] = /^(\S+)\s*(.*)$/.exec(line) ?? [];
    switch (key) {
      case 'title': entry.title = value; break;
      case 'version': entry.version = value; break;
      case 'sort-key': entry.sortKey = value; break;
      case 'machine-id': entry.machineId = value; break;
      case 'linux': entry.linux = value; break;
      case 'initrd': entry.initrds.push(...value.split(/\s+/).filter(Boolean)); break;
      case 'options': entry.options.push(value); break;
      default: break; // devicetree, architecture, efi, … play no part in a direct kernel boot here
    }
  }
  return entry;
}

/** A Type #2 entry: the UKI's file name is all that is read. */
export function ukiEntry(partition: string, fileName: string): BootEntry {
  return { type: 'uki', ...parseBootCounter(fileName), partition, path: `${partition}/${UKI_DIR}/${fileName}`, linux: `/${UKI_DIR}/${fileName}`, initrds: [], options: [] };
}

/** The `default` glob of a loader.conf, if any. */
export function loaderConfDefault(text: string): string | undefined {
  for (const line of text.split('\n')) {
    const match = /^\s*default\s+(\S.*?)\s*$/.exec(line);
    if (match) return match[1];
  }
  return undefined;
}

/**
 * systemd's version comparison (`strverscmp_improved`, the UAPI version format): segments of digits
 * compare as numbers and are newer than letters; `~` marks a pre-release (older), `-` separates the
 * release (123-9 is older than 123.1-1), `^` a patch (newer than the end of the string, older than a
 * further `.` segment); more segments are newer.
 * Returns < 0 when a is older than b, 0 when they are equal, > 0 when a is newer.
 */
export function compareVersions(a: string | undefined, b: string | undefined): number {
  if (!a || !b) return (a ? 1 : 0) - (b ? 1 : 0);
  const valid = (char: string) => /[A-Za-z0-9~\-^.]/.test(char);
  const digit = (char: string | undefined) => char !== undefined && char >= '0' && char <= '9';
  const alpha = (char: string | undefined) => char !== undefined && /[A-Za-z]/.test(char);
  let i = 0;
  let j = 0;
  for (;;) {
    while (i < a.length && !valid(a[i]!)) i++;
    while (j < b.length && !valid(b[j]!)) j++;
    // '~' marks a pre-release: older than anything, even the end of the string.
    if (a[i] === '~' || b[j] === '~') {
      if ((a[i] === '~') !== (b[j] === '~')) return a[i] === '~' ? -1 : 1;
      i++;
      j++;
    }
    // More segments are newer, except those after '~' (checked above).
    if (i >= a.length || j >= b.length) return cmp(a.slice(i), b.slice(j));
    // At '-', '^' and '.', the string that has the separator where the other goes on is older.
    for (const mark of ['-', '^', '.'] as const) {
      if (a[i] === mark || b[j] === mark) {
        if ((a[i] === mark) !== (b[j] === mark)) return a[i] === mark ? -1 : 1;
        i++;
        j++;
      }
    }
    let endA = i;
    let endB = j;
    if (digit(a[i]) || digit(b[j])) {
      while (digit(a[endA])) endA++;
      while (digit(b[endB])) endB++;
      if ((endA > i) !== (endB > j)) return endA > i ? 1 : -1;
      while (a[i] === '0') i++;
      while (b[j] === '0') j++;
      if (endA - i !== endB - j) return endA - i > endB - j ? 1 : -1;
      const order = cmp(a.slice(i, endA), b.slice(j, endB));
      if (order !== 0) return order;
    } else {
      while (alpha(a[endA])) endA++;
      while (alpha(b[endB])) endB++;
      const length = Math.min(endA - i, endB - j);
      const order = cmp(a.slice(i, i + length), b.slice(j, j + length));
      if (order !== 0) return order;
      if (endA - i !== endB - j) return endA - i > endB - j ? 1 : -1;
    }
    i = endA;
    j = endB;
  }
}

/** systemd-boot's order: the entry to boot by default first. */
export function compareBootEntries(a: BootEntry, b: BootEntry): number {
  const exhausted = (entry: BootEntry) => (entry.triesLeft === 0 ? 1 : 0);
  return (
    exhausted(a) - exhausted(b) ||
    (a.sortKey === undefined ? 1 : 0) - (b.sortKey === undefined ? 1 : 0) ||
    (a.sortKey !== undefined && b.sortKey !== undefined
      ? cmp(a.sortKey, b.sortKey) || cmp(a.machineId ?? '', b.machineId ?? '') || -compareVersions(a.version, b.version)
      : 0) ||
    -compareVersions(a.id, b.id) ||
    (a.triesLeft === undefined || b.triesLeft === undefined ? 0 : b.triesLeft - a.triesLeft || (a.triesDone ?? 0) - (b.triesDone ?? 0))
  );
}

/** The entry a boot uses: the loader.conf default if one matches, else the first in systemd-boot's order. */
export function selectBootEntry(entries: readonly BootEntry[], defaultPattern?: string): BootEntry | undefined {
  const bootable = entries.filter((entry) => entry.linux !== undefined).sort(compareBootEntries);
  if (defaultPattern !== undefined) {
    const pattern = globToRegExp(defaultPattern);
    const chosen = bootable.find((entry) => pattern.test(entry.id));
    if (chosen) return chosen;
  }
  return bootable[0];
}

/** Byte-wise comparison, as C's strcmp. */
function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** fnmatch(3) without flags: `*`, `?` and `[...]`. */
function globToRegExp(glob: string): RegExp {
  let source = '';
  for (let index = 0; index < glob.length; index++) {
    const char = glob[index]!;
    if (char === '*') source += '.*';
    else if (char === '?') source += '.';
    else if (char === '[') {
      const end = glob.indexOf(']', index + 2);
      if (end < 0) source += '\\[';
      else {
        source += `[${glob.slice(index + 1, end).replace(/^!/, '^').replace(/\\/g, '\\\\')}]`;
        index = end;
      }
    } else source += char.replace(/[.+^${}()|\\/]/g, '\\$&');
  }
  return new RegExp(`^${source}$`);
}
