/** The run-wide decisions of the vitest plugin: concurrency, and lines printed once per run. */
import { describe, expect, test } from 'vitest';
import { announcementKey } from '../../src/machine/machine-log.js';
import { shardArtifactsRoot } from '../../src/vitest/artifact-names.js';
import { planMaxWorkers } from '../../src/vitest/concurrency.js';
import { printOnce, runLines } from '../../src/vitest/run-announcements.js';

const GiB = 1024 ** 3;

describe('planMaxWorkers', () => {
  test('under TCG, one worker per guest CPU count of host cores', () => {
    const plan = planMaxWorkers({ cores: 2, accelerator: 'tcg', availableMemoryBytes: 16 * GiB, guestRamBytes: GiB, guestCpus: 1 });
    expect(plan.maxWorkers).toBe(2);
    expect(plan.reason).toBe('maxWorkers: 2 (2 host CPUs under TCG, 1 per guest; 16 GiB memory available, 1.3 GiB per guest: CPUs allow 2); set test.maxWorkers to choose');
    expect(planMaxWorkers({ cores: 2, accelerator: 'tcg', availableMemoryBytes: 16 * GiB, guestRamBytes: GiB, guestCpus: 2 }).maxWorkers).toBe(1);
    expect(planMaxWorkers({ cores: 8, accelerator: 'tcg', availableMemoryBytes: 64 * GiB, guestRamBytes: GiB, guestCpus: 2 }).maxWorkers).toBe(4);
  });

  test('under KVM, the host cores', () => {
    expect(planMaxWorkers({ cores: 8, accelerator: 'kvm', availableMemoryBytes: 64 * GiB, guestRamBytes: GiB, guestCpus: 2 }).maxWorkers).toBe(8);
  });

  test('memory bounds it, leaving the host a reserve, and never below one', () => {
    const plan = planMaxWorkers({ cores: 16, accelerator: 'kvm', availableMemoryBytes: 4 * GiB, guestRamBytes: GiB, guestCpus: 1 });
    expect(plan.maxWorkers).toBe(2); // (4 GiB - 1 GiB reserve) / 1.25 GiB
    expect(plan.reason).toContain('memory allows 2');
    expect(planMaxWorkers({ cores: 2, accelerator: 'tcg', availableMemoryBytes: GiB, guestRamBytes: 2 * GiB, guestCpus: 1 }).maxWorkers).toBe(1);
  });
});

describe('lines printed once per run', () => {
  test('the concurrency line only when the picked value is in force', () => {
    const run = { lines: ['accelerator: TCG'], concurrency: { maxWorkers: 2, reason: 'maxWorkers: 2 (…)' } };
    expect(runLines(run, 2)).toEqual(['accelerator: TCG', 'maxWorkers: 2 (…)']);
    expect(runLines(run, 1)).toEqual(['accelerator: TCG']); // --maxWorkers=1 on the command line
    expect(runLines({ lines: ['a'] }, 4)).toEqual(['a']);
  });

  test('each line once per process, however many projects print it', () => {
    const written: string[] = [];
    const line = `vsock: user-space ${Math.random()}`;
    printOnce([line], (text) => written.push(text));
    printOnce([line], (text) => written.push(text));
    expect(written).toEqual([`vitest-vmspawn: ${line}\n`]);
  });

  test('a decision is one line, whatever detail differs between processes', () => {
    expect(announcementKey('accelerator: KVM (probe guest ran in 3 ms)')).toBe('accelerator: KVM');
    expect(announcementKey('accelerator: TCG (software emulation), because KVM is not usable here: x')).toBe('accelerator: TCG');
    expect(announcementKey('vsock: user-space (vhost-device-vsock), because this host has no kernel vsock')).toBe('vsock: user-space');
    expect(announcementKey("TPM: swtpm, transient state (tpm: 'auto', swtpm is installed)")).toBe('TPM: swtpm');
  });
});

test('each shard of a sharded run keeps its artifacts in a directory of its own', () => {
  expect(shardArtifactsRoot('/p/test-results', { index: 2, count: 3 })).toBe('/p/test-results/shard-2-of-3');
  expect(shardArtifactsRoot('/p/test-results/', { index: 1, count: 2 })).toBe('/p/test-results/shard-1-of-2');
  expect(shardArtifactsRoot('/p/test-results', undefined)).toBe('/p/test-results');
});
