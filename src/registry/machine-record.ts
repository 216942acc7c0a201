/**
 * What the registry keeps about a running machine, in `machine.json` in its runtime directory:
 * what `list` shows and what `shell`, `exec`, `journal` and `terminate` need. Pure: reading,
 * checking and showing records; the files are written by registry.ts.
 */

/** The record of a machine, written by the process that runs it. */
export interface MachineRecord {
  /** The machine name. */
  name: string;
  /** The SMBIOS UUID. */
  uuid: string;
  /** The test that uses the machine now, as `file > test`; absent outside vitest. */
  test?: string | undefined;
  accelerator: 'kvm' | 'tcg';
  /** How the host reaches the guest: `kernel` or `user-space` vsock, or `none` (TCP over a control network). */
  transport: 'kernel' | 'user-space' | 'none';
  /** When the machine became ready (ISO time). */
  since: string;
  /** The machine's artifacts directory (console.log, journal.export, …). */
  artifactsDir: string;
  /** The process that runs the machine (a vitest worker, or the command line's `run`). */
  ownerPid: number;
  /** QEMU's PID. */
  qemuPid: number | undefined;
  /** The guest's vsock CID, with vsock. */
  vsockCid: number | undefined;
  /** The ssh_config that reaches the guest as root, and its Host alias; absent with `ssh: false`. */
  ssh?: { configFile: string; host: string } | undefined;
  /** systemd-machined: `registered`, or why not. */
  machined?: string | undefined;
}

/** A runtime directory as `list` sees it. */
export interface RegistryEntry {
  /** The runtime directory's name (`vm-…`): names a machine when names are not unique. */
  id: string;
  /** The machine's name, known from start-up on (the record's, once it is ready). */
  name: string | undefined;
  runtimeDir: string;
  /**
   * `starting` (no record yet), `running`, or `orphaned`: the owning process is gone, and whatever
   * it left is reaped by the next run or by `terminate --orphans`.
   */
  state: 'starting' | 'running' | 'orphaned';
  ownerPid: number | undefined;
  /** The artifacts directory, known from start-up on. */
  artifactsDir: string | undefined;
  record: MachineRecord | undefined;
}

export class RecordError extends Error {
  override name = 'RecordError';
}

/** Reads a machine.json; undefined when it is not a record (a partly written file, another version). */
export function parseMachineRecord(text: string): MachineRecord | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const record = value as Partial<MachineRecord>;
  const valid =
    typeof record.name === 'string' &&
    typeof record.artifactsDir === 'string' &&
    typeof record.ownerPid === 'number' &&
    typeof record.since === 'string' &&
    (record.accelerator === 'kvm' || record.accelerator === 'tcg') &&
    (record.transport === 'kernel' || record.transport === 'user-space' || record.transport === 'none');
  return valid ? (record as MachineRecord) : undefined;
}

/**
 * The entry that `nameOrId` names: a machine name, or a runtime directory id from `list` when
 * several machines share a name. Throws a RecordError that lists the machines otherwise.
 */
export function findEntry(entries: readonly RegistryEntry[], nameOrId: string): RegistryEntry {
  const byId = entries.find((entry) => entry.id === nameOrId);
  if (byId) return byId;
  const byName = entries.filter((entry) => entry.name === nameOrId);
  if (byName.length === 1) return byName[0]!;
  if (byName.length > 1) {
    const ids = byName.map((entry) => `${entry.id} (owner pid ${entry.ownerPid ?? '?'})`).join(', ');
    throw new RecordError(`${byName.length} machines are named "${nameOrId}": ${ids}; name one by its id.`);
  }
  const known = entries.map((entry) => entry.name ?? entry.id);
  throw new RecordError(
    `no machine is named "${nameOrId}"; ${known.length > 0 ? `running: ${known.join(', ')}` : 'none is running'} (see vitest-vmspawn list).`,
  );
}

/** The columns of `list`. */
const COLUMNS = ['NAME', 'ID', 'STATE', 'SINCE', 'ACCEL', 'TRANSPORT', 'PID', 'TEST', 'ARTIFACTS'] as const;

/** `list`'s table: one line per machine, columns padded; `now` makes SINCE relative. */
export function formatMachineTable(entries: readonly RegistryEntry[], now: Date): string {
  if (entries.length === 0) return 'No machines.\n';
  const rows = entries.map((entry) => {
    const record = entry.record;
    return [
      entry.name ?? '-',
      entry.id,
      entry.state,
      record ? formatAge(new Date(record.since), now) : '-',
      record?.accelerator ?? '-',
      record?.transport ?? '-',
      String(entry.ownerPid ?? '-'),
      record?.test ?? '-',
      entry.artifactsDir ?? '-',
    ];
  });
  const widths = COLUMNS.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)));
  const line = (cells: readonly string[]) => cells.map((cell, column) => (column === cells.length - 1 ? cell : cell.padEnd(widths[column]!))).join('  ');
  const orphans = entries.filter((entry) => entry.state === 'orphaned').length;
  const note = orphans > 0 ? `\n${orphans} orphaned: their process is gone; vitest-vmspawn terminate --orphans ends what they left.\n` : '\n';
  return `${[line(COLUMNS), ...rows.map(line)].join('\n')}\n${note === '\n' ? '' : note}`;
}

/** `12s`, `5m`, `2h`, `3d`: how long ago `since` was. */
export function formatAge(since: Date, now: Date): string {
  const seconds = Math.max(0, Math.round((now.getTime() - since.getTime()) / 1000));
  if (Number.isNaN(seconds)) return '-';
  if (seconds < 120) return `${seconds}s`;
  if (seconds < 2 * 3600) return `${Math.round(seconds / 60)}m`;
  if (seconds < 2 * 86400) return `${Math.round(seconds / 3600)}h`;
  return `${Math.round(seconds / 86400)}d`;
}
