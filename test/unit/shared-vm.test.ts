import { describe, expect, test } from 'vitest';
import { toJournalEntry } from '../../src/journal/journal-entry.js';
import { sharedArtifactsDirName } from '../../src/vitest/artifact-names.js';
import { describeDefaultsFor, setDescribeDefaults, type SuiteLike } from '../../src/vitest/shared-vm/describe-defaults.js';
import { formatJournalLine } from '../../src/journal/journal-line.js';
import { journalSince } from '../../src/vitest/shared-vm/journal-slice.js';
import { machineOptionsKey } from '../../src/vitest/shared-vm/machine-key.js';
import { isLastAttempt, SharedLifetime, SharedMachineEndedError } from '../../src/vitest/shared-vm/shared-lifetime.js';
import { isRunStop } from '../../src/vitest/shared-vm/shared-scope.js';
import { planTeardown } from '../../src/vitest/shared-vm/teardown-budget.js';
import { acquireReusable, ReusePool } from '../../src/vitest/shared-vm/worker-pool.js';

/** A lifetime over numbers that records its starts and ends. */
function countingLifetime(start: () => Promise<number> = async () => 7) {
  const events: string[] = [];
  const lifetime = new SharedLifetime<number>(
    {
      start: async () => {
        events.push('start');
        return start();
      },
      end: async (value) => {
        events.push(`end ${value}`);
      },
    },
    'the shared machine of a.test.ts',
  );
  return { lifetime, events };
}

describe('shared machine lifetime', () => {
  test('started once by concurrent users, ended after the last planned user', async () => {
    const { lifetime, events } = countingLifetime();
    lifetime.planUsers(3);
    expect(await Promise.all([lifetime.acquire(), lifetime.acquire(), lifetime.acquire()])).toEqual([7, 7, 7]);
    lifetime.release();
    lifetime.release();
    expect(events).toEqual(['start']);
    lifetime.release();
    await lifetime.end();
    expect(events).toEqual(['start', 'end 7']);
  });

  test('a failed start fails every user with the same error and is not tried again', async () => {
    const { lifetime, events } = countingLifetime(async () => {
      throw new Error('boot failed: kernel panic');
    });
    const results = await Promise.allSettled([lifetime.acquire(), lifetime.acquire()]);
    await expect(lifetime.acquire()).rejects.toThrow('kernel panic');
    expect(results.map((result) => result.status)).toEqual(['rejected', 'rejected']);
    expect(events).toEqual(['start']);
    await lifetime.end();
    expect(events).toEqual(['start', 'end undefined']);
  });

  test('never started: the scope end ends nothing; ended: a late use is refused', async () => {
    const { lifetime, events } = countingLifetime();
    lifetime.planUsers(0);
    await lifetime.end();
    expect(events).toEqual([]);
    await expect(lifetime.acquire()).rejects.toBeInstanceOf(SharedMachineEndedError);
    await expect(lifetime.acquire()).rejects.toThrow('was already shut down after its last test');
  });

  test('users planned before the start: the end waits for a start and the last release', async () => {
    const { lifetime, events } = countingLifetime();
    lifetime.planUsers(1);
    await lifetime.acquire();
    expect(lifetime.ended).toBe(false);
    lifetime.release();
    expect(lifetime.ended).toBe(true);
    await lifetime.end();
    await lifetime.end();
    expect(events).toEqual(['start', 'end 7']);
  });

  test('a test attempt is its last unless vitest retries or repeats it', () => {
    expect(isLastAttempt({ state: 'pass', retryCount: 0, repeatCount: 0 }, 2, undefined)).toBe(true);
    expect(isLastAttempt({ state: 'fail', retryCount: 0, repeatCount: 0 }, 2, undefined)).toBe(false);
    expect(isLastAttempt({ state: 'fail', retryCount: 2, repeatCount: 0 }, 2, undefined)).toBe(true);
    expect(isLastAttempt({ state: 'fail', retryCount: 0, repeatCount: 0 }, { count: 1 }, undefined)).toBe(false);
    expect(isLastAttempt({ state: 'pass', retryCount: 0, repeatCount: 0 }, undefined, 2)).toBe(false);
    expect(isLastAttempt({ state: 'pass', retryCount: 0, repeatCount: 2 }, undefined, 2)).toBe(true);
    expect(isLastAttempt({ state: 'skip', retryCount: 0, repeatCount: 0 }, 3, undefined)).toBe(true);
  });
});

describe('machine options key', () => {
  test('equal options in any key order give one key; any difference another', () => {
    const a = machineOptionsKey({ ram: '1G', setCredential: { b: '2', a: '1' }, kernelArgs: ['x', 'y'] });
    const b = machineOptionsKey({ kernelArgs: ['x', 'y'], setCredential: { a: '1', b: '2' }, ram: '1G', cpus: undefined });
    expect(a).toBe(b);
    expect(machineOptionsKey({ ram: '1G', kernelArgs: ['y', 'x'] })).not.toBe(machineOptionsKey({ ram: '1G', kernelArgs: ['x', 'y'] }));
    expect(machineOptionsKey({ ram: '1G' })).not.toBe(machineOptionsKey({ ram: '2G' }));
    expect(machineOptionsKey({ setCredential: { a: Buffer.from('x') } })).not.toBe(machineOptionsKey({ setCredential: { a: Buffer.from('y') } }));
  });
});

describe('journal slice of a test', () => {
  const entry = (message: string, identifier = 'app') =>
    toJournalEntry({ MESSAGE: message, SYSLOG_IDENTIFIER: identifier, _PID: '42', __REALTIME_TIMESTAMP: String(Date.UTC(2026, 0, 1, 12, 0, 1, 234) * 1000) });

  test('the entries since the test began', () => {
    const entries = [entry('before'), entry('during 1'), entry('during 2')];
    const slice = journalSince(entries, 1);
    expect(slice.entries.map((e) => e.message)).toEqual(['during 1', 'during 2']);
    expect([slice.from, slice.to]).toEqual([1, 3]);
    expect(journalSince(entries, 5).entries).toEqual([]);
    expect(formatJournalLine(entries[0]!)).toBe('12:00:01.234 app[42]: before');
  });
});

test("a shared boot is aborted by a stopped run, not by one test's timeout", () => {
  const stopped = Object.assign(new Error('The test run was aborted by the user.'), { name: 'TestRunAbortError' });
  expect(isRunStop(stopped)).toBe(true);
  expect(isRunStop(new Error('Test timed out in 5000ms.'))).toBe(false);
  expect(isRunStop(undefined)).toBe(false);
});

describe('shared machine teardown within a hook', () => {
  test("vitest's default 10 s hook: the guest gets 5 s, QEMU is killed 1.5 s before the hook times out", () => {
    expect(planTeardown(10_000, 20_000)).toEqual({ powerOffWaitMs: 5_000, killAfterMs: 8_500 });
  });
  test('a long hook leaves the shutdownTimeout as it is; no hook limit, no kill', () => {
    expect(planTeardown(240_000, 20_000)).toEqual({ powerOffWaitMs: 20_000, killAfterMs: 238_500 });
    expect(planTeardown(0, 20_000)).toEqual({ powerOffWaitMs: 20_000, killAfterMs: undefined });
  });
  test('a tight hook still asks the guest for a second', () => {
    expect(planTeardown(3_000, 20_000)).toEqual({ powerOffWaitMs: 1_000, killAfterMs: 1_500 });
  });
});

describe('describe defaults', () => {
  test('inner describes over outer ones, credentials merged by name', () => {
    const file: SuiteLike = {};
    const outer: SuiteLike = { suite: file };
    const inner: SuiteLike = { suite: outer };
    setDescribeDefaults(file, { ram: '1G', cpus: 1 });
    setDescribeDefaults(outer, { ram: '2G', setCredential: { a: '1' } });
    setDescribeDefaults(inner, { setCredential: { b: '2' } });
    expect(describeDefaultsFor(inner)).toEqual({ ram: '2G', cpus: 1, setCredential: { a: '1', b: '2' } });
    expect(describeDefaultsFor(file)).toEqual({ ram: '1G', cpus: 1 });
    expect(describeDefaultsFor({ suite: file })).toEqual({ ram: '1G', cpus: 1 });
    expect(describeDefaultsFor(undefined)).toEqual({});
  });
});

describe('worker reuse pool', () => {
  test('an idle machine of the same key is reset and handed on; a busy one or another key boots anew', async () => {
    const pool = new ReusePool<string>();
    const log: string[] = [];
    let booted = 0;
    const parts = {
      start: async () => `m${++booted}`,
      reset: async (value: string) => void log.push(`reset ${value}`),
      end: async (value: string) => void log.push(`end ${value}`),
    };
    const first = await acquireReusable(pool, 'k', parts);
    expect(await acquireReusable(pool, 'k', parts)).toBe('m2'); // m1 is busy
    pool.giveBack(first);
    expect(await acquireReusable(pool, 'k', parts)).toBe('m1');
    expect(await acquireReusable(pool, 'other', parts)).toBe('m3');
    expect(log).toEqual(['reset m1']);
    expect(pool.drain()).toEqual(['m1', 'm2', 'm3']);
    expect(pool.size).toBe(0);
  });

  test('a machine whose reset fails is ended and replaced', async () => {
    const pool = new ReusePool<string>();
    const log: string[] = [];
    let booted = 0;
    const parts = {
      start: async () => `m${++booted}`,
      reset: async () => {
        throw new Error('dirty');
      },
      end: async (value: string, error: unknown) => void log.push(`end ${value}: ${(error as Error).message}`),
    };
    pool.giveBack(await acquireReusable(pool, 'k', parts));
    expect(await acquireReusable(pool, 'k', parts)).toBe('m2');
    expect(log).toEqual(['end m1: dirty']);
    expect(pool.holds('m1')).toBe(false);
    expect(pool.holds('m2')).toBe(true);
  });
});

test('shared artifacts directory names', () => {
  expect(sharedArtifactsDirName({ file: 'test/e2e/boot.test.ts', titles: [] })).toBe('test-e2e-boot.shared-vm');
  expect(sharedArtifactsDirName({ file: 'a.test.ts', titles: ['read-only checks'] })).toBe('a-read-only-checks.shared-vm');
});
