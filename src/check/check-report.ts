/**
 * The report of `vitest-vmspawn check --json` (also written as check-report.json into the artifacts),
 * defined once as a zod schema: the TypeScript type, the JSON Schema in
 * schemas/check-report.schema.json and the validation in tests all come from it.
 *
 * Versioning: `schemaVersion` changes only when a field is removed or changes meaning; new fields
 * may appear within a version, so readers should ignore fields they do not know.
 */
import { z } from 'zod';
import { BOOT_STAGES } from '../machine/boot-progress.js';
import { ANALYZE_STAGES } from './systemd-analyze.js';

export const CHECK_REPORT_SCHEMA_VERSION = 1;

/** The checks, in the order they run and are reported (one JUnit testcase each). */
export const CHECK_NAMES = ['boot', 'system-state', 'failed-units', 'error-lines', 'power-off'] as const;
export type CheckName = (typeof CHECK_NAMES)[number];

const milliseconds = z.number().nonnegative().meta({ description: 'Milliseconds.' });

const checkResult = z
  .object({
    name: z.enum(CHECK_NAMES),
    status: z.enum(['passed', 'failed', 'skipped']).meta({ description: '`skipped` when an earlier check failed so that this one could not run (the boot).' }),
    summary: z.string().meta({ description: 'One line for people, e.g. "2 failed units: broken.service, foo.service".' }),
    details: z.array(z.string()).meta({ description: 'Further lines (journal lines, reasons), empty when there is nothing to add.' }),
  })
  .meta({ description: 'One check: one JUnit testcase, one line of the human summary.' });

const journalLine = z.object({
  time: z.string().nullable().meta({ description: 'ISO 8601 time of the entry, null when it had none.' }),
  priority: z.number().int().min(0).max(7).nullable(),
  identifier: z.string().nullable().meta({ description: 'SYSLOG_IDENTIFIER' }),
  unit: z.string().nullable(),
  message: z.string(),
  line: z.string().meta({ description: 'The entry as one line: `time priority identifier[pid] (unit): message`.' }),
});

const systemdAnalyze = z.discriminatedUnion('available', [
  z.object({
    available: z.literal(true),
    stagesMs: z.partialRecord(z.enum(ANALYZE_STAGES), milliseconds).meta({ description: 'Time per stage as `systemd-analyze time` reports it.' }),
    totalMs: milliseconds,
    target: z.object({ unit: z.string(), afterMs: milliseconds }).nullable().meta({ description: 'The default target and when userspace reached it.' }),
  }),
  z.object({ available: z.literal(false), reason: z.string() }),
]);

export const checkReportSchema = z
  .object({
    schemaVersion: z.literal(CHECK_REPORT_SCHEMA_VERSION),
    verdict: z.enum(['healthy', 'degraded']).meta({ description: '`healthy` when every check passed (exit code 0), else `degraded` (exit code 1).' }),
    machine: z.object({
      name: z.string(),
      source: z.object({
        kind: z.enum(['default-image', 'image', 'directory', 'linux']),
        path: z.string().meta({ description: 'The image file, directory or kernel; for the default image, its directory.' }),
        initrd: z.array(z.string()),
      }),
      accelerator: z.enum(['kvm', 'tcg']).nullable().meta({ description: 'null when the boot failed before QEMU started.' }),
      vsock: z.string().nullable().meta({ description: 'Which vsock transport, and why.' }),
      cpus: z.number().int().positive(),
      ramBytes: z.number().int().positive(),
    }),
    startedAt: z.string().meta({ description: 'ISO 8601 time the check started.' }),
    durationMs: milliseconds.meta({ description: 'The whole check, from the start of the boot to the end of the power-off.' }),
    artifactsDir: z.string().meta({ description: 'Directory with console.log, the journal, summary.json, check-report.json and summary.txt.' }),
    checks: z.array(checkResult).meta({ description: 'Every check of CHECK_NAMES, in that order.' }),
    boot: z.object({
      ready: z.boolean(),
      error: z.string().nullable().meta({ description: 'Why the boot failed, null when it did not.' }),
      stages: z
        .array(z.object({ stage: z.enum(BOOT_STAGES), label: z.string(), afterMs: milliseconds }))
        .meta({ description: "The engine's boot progress: QEMU started, kernel, initrd/init, basic.target, READY=1, SSH; each since QEMU started." }),
      systemdAnalyze,
    }),
    systemState: z
      .string()
      .nullable()
      .meta({ description: '`systemctl is-system-running` (running, degraded, starting, …); null when it could not be asked.' }),
    failedUnits: z.array(
      z.object({
        unit: z.string(),
        active: z.string().meta({ description: 'ACTIVE column of systemctl (failed); empty when only the journal named it.' }),
        sub: z.string(),
        description: z.string(),
        lastJournalLines: z.array(z.string()).meta({ description: 'The last journal lines of the unit, oldest first.' }),
      }),
    ),
    errorLines: z.object({
      disallowed: z.array(journalLine).meta({ description: 'Entries at priority err or above that no --allow pattern matched, oldest first.' }),
      allowedCount: z.number().int().nonnegative().meta({ description: 'How many err entries an --allow pattern matched.' }),
      allow: z.array(z.string()).meta({ description: 'The --allow patterns as given.' }),
    }),
    powerOff: z
      .object({
        clean: z.boolean(),
        endedBy: z.enum(['guest', 'shutdown', 'killed', 'boot-failure', 'crashed', 'abandoned']),
        exitStatus: z.number().int().nullable().meta({ description: "The guest's EXIT_STATUS; null when none arrived (no vsock)." }),
        qemuExitCode: z.number().int().nullable(),
        qemuSignal: z.string().nullable(),
        reason: z.string(),
        durationMs: milliseconds,
      })
      .nullable()
      .meta({ description: 'The power-off after the checks; null when the boot failed.' }),
  })
  .meta({ title: 'vitest-vmspawn check report', description: 'What `vitest-vmspawn check --json` prints.' });

export type CheckReport = z.infer<typeof checkReportSchema>;
export type CheckResult = z.infer<typeof checkResult>;
export type ReportedJournalLine = z.infer<typeof journalLine>;

/** The JSON Schema of the report, as schemas/check-report.schema.json holds it. */
export function checkReportJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(checkReportSchema);
}
