/**
 * Gathers what a failed VM test's report shows (see failure-report.ts) from its machine, while the
 * machine still runs: the guest first gets to finish writing cores and its journal reaches the host,
 * then the cores are copied into the artifacts. Also annotates each crash as it happens.
 */
import { randomUUID } from 'node:crypto';
import type { TestContext } from 'vitest';
import { coredumpsIn, describeCoredump, readCoredump } from '../journal/coredumps.js';
import { formatErrorLine } from '../journal/error-lines.js';
import { failedUnits } from '../journal/failed-units.js';
import { saveCoredumps } from '../machine/save-coredumps.js';
import type { StartedMachine } from '../machine/started-machine.js';
import { activatedUnitOf } from '../notify/notify-message.js';
import type { FailureEvidence } from './failure-report.js';
import { formatJournalLine } from '../journal/journal-line.js';

/** How many error lines a report shows at most. */
const MAX_ERROR_LINES = 20;
/** How long the guest may take to finish its cores and flush its journal before the report is made without. */
const SETTLE_TIMEOUT_MS = 15_000;
const IDENTIFIER = 'vitest-vmspawn';

/** Marks where a test's own journal lines begin (its machine just became ready). */
export class TestJournalMark {
  readonly #index: number;

  constructor(private readonly vm: StartedMachine) {
    this.#index = vm.journalEntries().length;
  }

  /**
   * Everything the report needs; `shownArtifactsDir` is the path as the user should read it. With
   * `tail` (a test on a shared machine), the last `tail.lines` entries of the test's time are listed
   * whole, and the error lines are those before them.
   */
  async gather(shownArtifactsDir: string | undefined, saveCores: boolean, tail?: { lines: number; file: string }): Promise<FailureEvidence> {
    const { vm } = this;
    if (vm.state === 'running' && vm.sshAccess) await settle(vm);
    const entries = vm.journalEntries();
    const own = entries.slice(this.#index).filter((entry) => entry.identifier !== IDENTIFIER);
    const listed = tail ? own.slice(Math.max(0, own.length - tail.lines)) : [];
    const errors = own.slice(0, own.length - listed.length).filter((entry) => entry.priority !== undefined && entry.priority <= 3);
    // A shared machine's earlier crashes belong to the tests that ran then.
    const dumps = coredumpsIn(tail ? entries.slice(this.#index) : entries);
    const coredumps = saveCores ? await saveCoredumps(vm, dumps, vm.artifactsDir) : dumps.map((dump) => ({ ...dump, savedAs: undefined, notSaved: 'artifacts are not kept' }));
    const summary = vm.summary;
    return {
      state: vm.state,
      upForMs: Date.now() - Date.parse(summary.startedAt),
      readyAfterMs: summary.readyAfterMs,
      lastActiveUnit: vm.notify.messages.map(activatedUnitOf).findLast((unit) => unit !== undefined),
      status: vm.notify.status,
      exitReason: summary.exit?.reason,
      failedUnits: failedUnits(entries),
      journalErrors: errors.slice(-MAX_ERROR_LINES).map(formatErrorLine),
      journalErrorsLeftOut: Math.max(0, errors.length - MAX_ERROR_LINES),
      coredumps: coredumps.map((dump) => ({ ...dump, savedAs: dump.savedAs && shownArtifactsDir ? dump.savedAs.replace(vm.artifactsDir, shownArtifactsDir) : dump.savedAs })),
      artifactsDir: shownArtifactsDir,
      ...(tail && { journalTail: { lines: listed.map((entry) => formatJournalLine(entry)), total: own.length, file: tail.file } }),
    };
  }
}

/**
 * Lets systemd-coredump finish the cores it is writing (a crash a moment before the failure), then
 * logs a marker and waits for it on the host: journald forwards in order, so every line before it has arrived.
 */
async function settle(vm: StartedMachine): Promise<void> {
  const marker = `the test failed; diagnostics ${randomUUID()}`;
  const script =
    "i=0; while [ $i -lt 100 ] && systemctl list-units --no-legend --state=active,activating 'systemd-coredump@*' 2>/dev/null | grep -q .; " +
    `do sleep 0.1; i=$((i+1)); done; logger -t ${IDENTIFIER} -- '${marker}'`;
  try {
    await vm.exec(script, { timeout: SETTLE_TIMEOUT_MS, reject: false });
    await vm.waitForJournal({ identifier: IDENTIFIER, message: marker }, { timeout: SETTLE_TIMEOUT_MS });
  } catch {
    // The report is made with what arrived.
  }
}

/** Each crash in the guest becomes a line of the test's report as it is logged, while the test runs. */
export function annotateCoredumps(vm: StartedMachine, context: Pick<TestContext, 'task' | 'annotate'>): () => void {
  return vm.journal.subscribe((entry) => {
    const dump = readCoredump(entry);
    if (!dump || context.task.result?.state !== 'run') return;
    try {
      void context.annotate(`a program in the guest crashed and dumped core: ${describeCoredump(dump)}`, 'vitest-vmspawn').catch(() => undefined);
    } catch {
      // The test ended between the check and the call.
    }
  });
}

/**
 * Appends the report to a failed test's first error, in its message and its stack (which the JSON
 * reporter shows), so every reporter shows it with the failure. One error rather than a second one:
 * the default reporter repeats the test's annotations under each of its errors.
 */
export function attachFailureReport(task: TestContext['task'], name: string, report: string): void {
  const result = task.result;
  if (!result || result.state !== 'fail') return;
  const text = `${name}: ${report}`;
  const first = result.errors?.[0];
  if (!first) {
    result.errors = [{ name, message: report, stack: text } as never];
    return;
  }
  const original = first.message ?? '';
  const message = original ? `${original}\n\n${text}` : text;
  first.message = message;
  if (first.stack) first.stack = original && first.stack.includes(original) ? first.stack.replace(original, () => message) : `${first.stack}\n\n${text}`;
}
