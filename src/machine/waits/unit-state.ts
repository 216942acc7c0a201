/**
 * A systemd unit's state as `systemctl show` reports it, and whether it is the state a wait wants.
 */
import { InvalidOptionsError } from '../../errors.js';

/** The states `waitForUnit()` can wait for. */
export const UNIT_STATES = ['active', 'inactive', 'failed'] as const;
export type UnitState = (typeof UNIT_STATES)[number];

/** What `systemctl show -p LoadState,ActiveState,SubState,Result UNIT` reports. */
export interface UnitStatus {
  /** The full unit name, e.g. `ssh.service`. */
  unit: string;
  /** `loaded`, `not-found`, `masked`, `error`, … */
  loadState: string;
  /** `active`, `inactive`, `failed`, `activating`, `deactivating`, `reloading`, … */
  activeState: string;
  /** The unit type's own state, e.g. `running`, `dead`, `exited`, `start`. */
  subState: string;
  /** How the unit last ended: `success`, `exit-code`, `signal`, `timeout`, …; empty for units without one (targets). */
  result: string;
}

/** The properties read for a unit, in the order of `systemctl show -p`. */
export const UNIT_PROPERTIES = ['LoadState', 'ActiveState', 'SubState', 'Result'] as const;

const UNIT_SUFFIXES = ['service', 'socket', 'target', 'device', 'mount', 'automount', 'swap', 'timer', 'path', 'slice', 'scope'];

/** `ssh` → `ssh.service`, `getty@tty1` → `getty@tty1.service`; names with a unit type suffix stay as they are. */
export function normalizeUnitName(name: unknown): string {
  const problem = (message: string) => new InvalidOptionsError([{ option: 'unit', message }], 'waitForUnit() arguments');
  if (typeof name !== 'string' || name.trim() === '') throw problem(`expected a unit name such as 'ssh' or 'ssh.service', got ${JSON.stringify(name)}`);
  if (/\s|\//.test(name)) {
    throw problem(`'${name}' is not a unit name (no spaces or slashes); for a path's mount unit, give its name (systemd-escape --path --suffix=mount PATH)`);
  }
  const suffix = name.slice(name.lastIndexOf('.') + 1);
  return name.includes('.') && UNIT_SUFFIXES.includes(suffix) ? name : `${name}.service`;
}

/** Checks the wanted state; throws an error naming `state` and the accepted values. */
export function checkUnitState(state: unknown): UnitState {
  if (UNIT_STATES.includes(state as UnitState)) return state as UnitState;
  throw new InvalidOptionsError(
    [{ option: 'state', message: `expected one of ${UNIT_STATES.map((s) => `'${s}'`).join(', ')}, got ${JSON.stringify(state)}` }],
    'waitForUnit() options',
  );
}

/** Reads the `KEY=VALUE` lines of `systemctl show`. */
export function parseUnitStatus(unit: string, showOutput: string): UnitStatus {
  const values = new Map<string, string>();
  for (const line of showOutput.split('\n')) {
    const separator = line.indexOf('=');
    if (separator > 0) values.set(line.slice(0, separator), line.slice(separator + 1).trim());
  }
  return {
    unit,
    loadState: values.get('LoadState') ?? '',
    activeState: values.get('ActiveState') ?? '',
    subState: values.get('SubState') ?? '',
    result: values.get('Result') ?? '',
  };
}

/**
 * `'reached'` when the unit is in the wanted state, `'failed'` when it failed and failing is not
 * what is wanted (the wait ends at once), `'waiting'` otherwise.
 */
export function judgeUnit(status: UnitStatus, wanted: UnitState): 'reached' | 'failed' | 'waiting' {
  if (status.activeState === wanted) return 'reached';
  if (status.activeState === 'failed') return 'failed';
  return 'waiting';
}

/** One line for messages: `app.service is activating (start), result success`. */
export function describeUnitStatus(status: UnitStatus): string {
  if (status.loadState && status.loadState !== 'loaded') {
    return `${status.unit} is ${status.activeState || 'unknown'} and not loaded (LoadState=${status.loadState})`;
  }
  const sub = status.subState && status.subState !== status.activeState ? ` (${status.subState})` : '';
  const result = status.result ? `, result ${status.result}` : '';
  return `${status.unit} is ${status.activeState || 'unknown'}${sub}${result}`;
}
