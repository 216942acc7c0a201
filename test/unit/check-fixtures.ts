/** Made-up facts of one check, for the tests of the report, the summary and the JUnit file. */
import type { CheckFacts } from '../../src/check/check-facts.js';
import { toJournalEntry, type JournalEntry } from '../../src/journal/journal-entry.js';
import type { MachineExit } from '../../src/machine/summary.js';

let clock = 1_700_000_000_000_000;

/** A journal entry at info priority from PID 1 unless the fields say otherwise, each a second after the last. */
export function journalEntry(fields: Record<string, string>): JournalEntry {
  clock += 1_000_000;
  return toJournalEntry({ __REALTIME_TIMESTAMP: String(clock), PRIORITY: '6', _PID: '1', ...fields });
}

export function shutdownExit(overrides: Partial<MachineExit> = {}): MachineExit {
  return { exitStatus: 0, qemuExitCode: 0, qemuSignal: undefined, endedBy: 'shutdown', reason: 'shut down by shutdown(), EXIT_STATUS=0', ...overrides };
}

/** A healthy boot of the default image, with `overrides` on top. */
export function checkFacts(overrides: Partial<CheckFacts> = {}): CheckFacts {
  return {
    machine: {
      name: 'check-default-image',
      source: { kind: 'default-image', path: '/cache/debian-trixie/abc', initrd: ['/cache/debian-trixie/abc/rootfs.cpio.zst'] },
      accelerator: 'tcg',
      vsock: 'vsock: user-space (vhost-device-vsock)',
      cpus: 1,
      ramBytes: 1024 ** 3,
    },
    startedAt: new Date('2026-11-26T03:00:00.123Z'),
    durationMs: 21_000.4,
    artifactsDir: '/project/art',
    allow: { patterns: [], matches: [] },
    stages: [
      { stage: 'qemu', label: 'QEMU started', afterMs: 0 },
      { stage: 'kernel', label: 'kernel started', afterMs: 300 },
      { stage: 'ready', label: 'ready (READY=1)', afterMs: 14_200 },
      { stage: 'ssh', label: 'SSH answered', afterMs: 15_000 },
    ],
    systemState: { state: 'running' },
    systemdAnalyze: { stages: { kernel: 1200, userspace: 10_400 }, totalMs: 11_600, target: { unit: 'multi-user.target', afterMs: 10_300 } },
    failedUnits: [],
    journal: [journalEntry({ SYSLOG_IDENTIFIER: 'systemd', MESSAGE: 'Startup finished in 1.2s (kernel) + 10.4s (userspace) = 11.6s.' })],
    powerOff: { exit: shutdownExit(), durationMs: 2100, notifyAvailable: true },
    ...overrides,
  };
}
