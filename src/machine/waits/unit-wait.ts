/**
 * `waitForUnit()`: waits for a systemd unit to be active, inactive or failed. The guest's system
 * manager reports only targets over notify (`X_SYSTEMD_UNIT_ACTIVE=`/`X_SYSTEMD_UNIT_INACTIVE=`),
 * so a target reported active needs no command at all; everything else is read with `systemctl show`
 * over SSH, checked again on the backoff schedule, and at once whenever a notify message names the
 * unit or the system manager logs about it (a forwarded journal entry with `UNIT=`). A unit that
 * enters `failed` ends the wait at once (unless failing is what is awaited), with its
 * `systemctl status` and last journal lines.
 */
import { MachineStateError } from '../../errors.js';
import { UNIT_FAILED_MESSAGE_ID } from '../../journal/failed-units.js';
import { activatedUnitOf, deactivatedUnitOf } from '../../notify/notify-message.js';
import { formatJournalLine } from '../../journal/journal-line.js';
import { UnitFailedError } from './wait-errors.js';
import type { WaitContext } from './wait-context.js';
import { waitUntil, type CheckOutcome } from './wait-loop.js';
import { resolveWaitOptions, type GuestWaitOptions } from './wait-options.js';
import {
  UNIT_PROPERTIES,
  checkUnitState,
  describeUnitStatus,
  judgeUnit,
  normalizeUnitName,
  parseUnitStatus,
  type UnitState,
  type UnitStatus,
} from './unit-state.js';

export interface UnitWaitOptions extends GuestWaitOptions {
  /**
   * The state to wait for. Waiting for `'active'` or `'inactive'` ends at once with a
   * {@link UnitFailedError} when the unit enters `failed`.
   * @default 'active'
   */
  state?: UnitState;
}

/** How many of the unit's journal lines a failure shows. */
const FAILURE_JOURNAL_LINES = 15;
/** How long a failure waits for the system manager's "entered failed state" entry to arrive over journal forwarding. */
const FAILURE_ENTRY_GRACE_MS = 2_000;
/** How long each command that gathers a failure's details may take. */
const DIAGNOSIS_TIMEOUT_MS = 5_000;

export async function waitForUnit(context: WaitContext, name: string, options: UnitWaitOptions = {}): Promise<UnitStatus> {
  const unit = normalizeUnitName(name);
  const wanted = checkUnitState(options.state ?? 'active');
  const resolved = resolveWaitOptions('waitForUnit()', options);
  const isTarget = unit.endsWith('.target');
  if (!context.hasSsh && (!isTarget || wanted === 'failed')) {
    throw new MachineStateError(
      `waitForUnit('${unit}', { state: '${wanted}' }) needs SSH (ssh: false on this machine) to ask systemctl; ` +
        'without it, only targets can be awaited as active or inactive (the guest reports those over notify).',
    );
  }
  const waitingFor = `${unit} to be ${wanted}`;

  const check = async (signal: AbortSignal): Promise<CheckOutcome<UnitStatus>> => {
    const reported = context.notify.activeUnits.has(unit);
    if (isTarget && wanted === 'active' && reported) return { done: true, value: reportedStatus(unit, 'active') };
    if (!context.hasSsh) {
      if (wanted === 'inactive' && !reported) return { done: true, value: reportedStatus(unit, 'inactive') };
      return { done: false, observed: `the guest has ${reported ? 'reported' : 'not reported'} ${unit} active over notify` };
    }
    const show = await context.exec(['systemctl', 'show', '-p', UNIT_PROPERTIES.join(','), '--', unit], { reject: false, signal });
    if (show.failed) return { done: false, observed: `systemctl show ${unit} failed (exit status ${show.exitCode}): ${show.stderr.trim()}` };
    const status = parseUnitStatus(unit, show.stdout);
    const verdict = judgeUnit(status, wanted);
    if (verdict === 'reached') return { done: true, value: status };
    if (verdict === 'failed') throw await unitFailure(context, status, waitingFor);
    return { done: false, observed: describeUnitStatus(status) };
  };

  return waitUntil(check, {
    waitingFor,
    options: resolved,
    ended: context.ended,
    poll: context.hasSsh,
    nudges: (nudge) => {
      const stopNotify = context.notify.subscribe((message) => {
        if (activatedUnitOf(message) === unit || deactivatedUnitOf(message) === unit) nudge();
      });
      // The system manager's own entries about the unit (UNIT=): starts, stops, failures. The
      // unit's output (_SYSTEMD_UNIT=) says nothing about its state and may come in floods.
      const stopJournal = context.journal.subscribe((entry) => {
        if (entry.fields.UNIT === unit) nudge();
      });
      return () => {
        stopNotify();
        stopJournal();
      };
    },
  });
}

function reportedStatus(unit: string, activeState: 'active' | 'inactive'): UnitStatus {
  return { unit, loadState: 'loaded', activeState, subState: activeState, result: '' };
}

/** A {@link UnitFailedError} with the unit's `systemctl status` and its last journal lines. */
async function unitFailure(context: WaitContext, status: UnitStatus, waitingFor: string): Promise<UnitFailedError> {
  const { unit } = status;
  const commandOptions = { reject: false, timeout: DIAGNOSIS_TIMEOUT_MS } as const;
  const systemctlStatus = context
    .exec(['systemctl', 'status', '--no-pager', '--full', '--lines=0', '--', unit], commandOptions)
    .then((result) => result.stdout || result.stderr, (error: unknown) => `(could not run systemctl status: ${String(error)})`);
  let journalLines: string[];
  if (context.forwardJournal) {
    await context.journal
      .waitFor({ unit, fields: { MESSAGE_ID: UNIT_FAILED_MESSAGE_ID } }, { timeout: FAILURE_ENTRY_GRACE_MS })
      .catch(() => undefined);
    journalLines = context.journal.entries({ unit }).slice(-FAILURE_JOURNAL_LINES).map((entry) => formatJournalLine(entry));
  } else {
    const journal = await context
      .exec(['journalctl', '--no-pager', '-o', 'short-precise', '-n', String(FAILURE_JOURNAL_LINES), '-u', unit], commandOptions)
      .catch(() => undefined);
    journalLines = journal?.stdout.trim() ? journal.stdout.trimEnd().split('\n') : [];
  }
  return new UnitFailedError(status, waitingFor, await systemctlStatus, journalLines);
}
