/**
 * The journal under load. With journald's rate limit lifted (the default) a flood of 100,000 lines
 * reaches the host whole: on the handle, in the same order, and in journal.journal after shutdown,
 * also while an exec streams 64 MiB at the same time. With the limit kept, what journald drops is
 * counted on the handle and named in the failed test's report.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { JOURNAL_DROPPED_MESSAGE_ID } from '../../src/journal/suppressed-messages.js';
import { Machine } from '../../src/machine/machine.js';
import type { StartedMachine } from '../../src/machine/started-machine.js';
import { image, useWorkDir } from './helpers.js';
import { startVitest, statuses, writeProject } from './inline-vitest.js';

const workDir = useWorkDir('vmspawn-e2e-journal-');

const FLOOD_LINES = 100_000;
/** 48 MiB of random bytes are exactly 64 MiB of base64 text. */
const STREAM_RANDOM_BYTES = 48 * 1024 ** 2;
const STREAM_BYTES = 64 * 1024 ** 2;
/** Floods take about a minute and a half under TCG, boot not included. */
const FLOOD_TIMEOUT_MS = 240_000;

/** The numbers 1 … n as `seq` prints them. */
function sequence(n: number): string[] {
  return Array.from({ length: n }, (_, index) => String(index + 1));
}

/** The value of the last `name=` line of a configuration dump: the one that wins. */
function lastSetting(config: string, name: string): string | undefined {
  return config
    .split('\n')
    .filter((line) => line.startsWith(`${name}=`))
    .at(-1)
    ?.slice(name.length + 1);
}

/** How many lines with this identifier a native journal file holds. */
async function linesInJournalFile(file: string, identifier: string): Promise<number> {
  const { stdout } = await execa('journalctl', ['--file', file, '-t', identifier, '-o', 'cat', '--no-pager'], { maxBuffer: 64 * 1024 ** 2 });
  return stdout === '' ? 0 : stdout.split('\n').length;
}

/** Runs `seq n | systemd-cat -t identifier` in the guest and measures until the host received the last line. */
async function flood(vm: StartedMachine, identifier: string): Promise<{ seconds: number; guestSeconds: number }> {
  const started = performance.now();
  const last = vm.waitForJournal({ identifier, message: new RegExp(`^${FLOOD_LINES}$`) });
  await vm.exec(`seq ${FLOOD_LINES} | systemd-cat -t ${identifier}`);
  const lastEntry = await last;
  const seconds = (performance.now() - started) / 1000;
  // journald's receive times: how long the guest itself took to take the lines in.
  const firstEntry = vm.journalEntries({ identifier })[0]!;
  const guestSeconds = (lastEntry.time!.getTime() - firstEntry.time!.getTime()) / 1000;
  console.info(
    `journal flood ${identifier}: ${FLOOD_LINES} entries on the host after ${seconds.toFixed(1)} s ` +
      `(${Math.round(FLOOD_LINES / seconds)} entries/s); journald in the guest took them in over ${guestSeconds.toFixed(1)} s`,
  );
  return { seconds, guestSeconds };
}

describe("journald's rate limit lifted (the default)", () => {
  let vm: StartedMachine;
  let artifactsDir: string;

  beforeAll(async () => {
    artifactsDir = join(workDir(), 'artifacts');
    vm = await new Machine({ ...(await image()).initramfs, name: 'e2e-journal', artifactsDir }).start();
  });
  afterAll(async () => {
    await vm?.stop();
  });

  test("journald's effective configuration has the limit off, from journald's first start", async () => {
    const { stdout: config } = await vm.exec('systemd-analyze cat-config systemd/journald.conf');
    expect(config).toContain('# /run/systemd/journald.conf.d/zz-vitest-vmspawn-rate-limit.conf');
    expect(lastSetting(config, 'RateLimitIntervalSec')).toBe('0');
    expect(lastSetting(config, 'RateLimitBurst')).toBe('0');
    // Written by journald's own ExecStartPre=, which succeeded, and journald has started once:
    // its first start already read the file.
    const { stdout: unit } = await vm.exec('systemctl show systemd-journald -p ExecStartPre -p NRestarts');
    expect(unit).toMatch(/ExecStartPre=\{ path=systemd-tmpfiles .*code=exited ; status=0 \}/);
    expect(unit).toContain('NRestarts=0');
  });

  test('a flood of 100,000 lines arrives whole and in order', { timeout: FLOOD_TIMEOUT_MS }, async () => {
    await flood(vm, 'flood');
    expect(vm.journalEntries({ identifier: 'flood' }).map((entry) => entry.message)).toEqual(sequence(FLOOD_LINES));
    expect(vm.journal.suppressed).toEqual({ total: 0, byUnit: {} });
  });

  test('the same while an exec streams 64 MiB to the host', { timeout: FLOOD_TIMEOUT_MS }, async () => {
    const started = performance.now();
    const stream = vm.exec(`head -c ${STREAM_RANDOM_BYTES} /dev/urandom | base64 -w 0 | tee /tmp/stream`);
    const [{ stdout }] = await Promise.all([stream, flood(vm, 'flood-during-exec')]);
    const streamSeconds = (performance.now() - started) / 1000;
    console.info(`exec stream: ${STREAM_BYTES / 1024 ** 2} MiB in ${streamSeconds.toFixed(1)} s next to the flood`);
    expect(stdout.length).toBe(STREAM_BYTES);
    const { stdout: guestSum } = await vm.exec('sha256sum /tmp/stream');
    expect(createHash('sha256').update(stdout).digest('hex')).toBe(guestSum.split(' ')[0]);
    expect(vm.journalEntries({ identifier: 'flood-during-exec' }).map((entry) => entry.message)).toEqual(sequence(FLOOD_LINES));
    expect(vm.journal.suppressed.total).toBe(0);
  });

  test('after shutdown, journal.journal holds both floods whole', { timeout: FLOOD_TIMEOUT_MS }, async () => {
    await vm.shutdown();
    const journalFile = join(artifactsDir, 'journal.journal');
    expect(await linesInJournalFile(journalFile, 'flood')).toBe(FLOOD_LINES);
    expect(await linesInJournalFile(journalFile, 'flood-during-exec')).toBe(FLOOD_LINES);
    const summary = JSON.parse(await readFile(join(artifactsDir, 'summary.json'), 'utf8'));
    expect(summary.journalSuppressed).toEqual({ total: 0, byUnit: {} });
  });
});

describe("journald's rate limit kept", () => {
  test("drops are counted on the handle and named in the failed test's report", { timeout: 420_000 }, async () => {
    // One unit floods, then logs "tick" every 2 s on the same stream until its own journal shows a
    // tick, then "flood over after N ticks". journald reads one stream in order and reports a unit's
    // drops when it next keeps a line of it after its 30 s interval: once a tick is in the journal,
    // journald has read the whole flood and reported every drop, however long a loaded journald took
    // (fixed sleeps were not enough: from separate streams, a loaded journald once kept the closing
    // line while it still read the flood, and dropped the rest unreported). The unit's own limit,
    // a burst of 1,000 lines per 30 s (journald scales it by free disk space: 2,250 kept in a run
    // here), makes journald drop lines however fast it reads: its default burst
    // (10,000, scaled up by free disk space) held the whole flood when a loaded journald read it
    // slower than that. The engine's part is to count exactly what journald reported, which the
    // guest's own journal tells.
    const flooder = [
      `{ seq ${FLOOD_LINES}; ticks=0;`,
      'until journalctl --no-pager -o cat -t flood | grep -qx tick || [ $ticks -ge 150 ]; do echo tick; ticks=$((ticks+1)); sleep 2; done;',
      'echo flood over after $ticks ticks; } | systemd-cat -t flood',
    ].join(' ');
    const dir = await writeProject('journal-rate-limit', {
      'flood.test.ts': `
        import { writeFileSync } from 'node:fs';
        import { expect } from 'vitest';
        import { test } from 'vitest-vmspawn';
        test.vm('floods with the limit kept', { journalRateLimit: true, timeout: 360_000 }, async ({ vm }) => {
          await vm.exec(${JSON.stringify(`systemd-run --quiet --wait --unit=flooder -p LogRateLimitIntervalSec=30s -p LogRateLimitBurst=1000 sh -c '${flooder}'`)});
          const over = await vm.waitForJournal({ identifier: 'flood', message: /^flood over after [0-9]+ ticks$/ }, { timeout: 60_000 });
          const sentTicks = Number(/[0-9]+/.exec(over.message)[0]);
          const messages = vm.journalEntries({ identifier: 'flood' }).map((entry) => entry.message);
          const received = messages.filter((message) => /^[0-9]+$/.test(message)).length;
          const keptTicks = messages.filter((message) => message === 'tick').length;
          // journald's reports as the guest's own journal holds them, once the host has seen as many entries.
          const inGuest = await vm.exec(['journalctl', '--no-pager', '-o', 'cat', 'MESSAGE_ID=${JOURNAL_DROPPED_MESSAGE_ID}', '_TRANSPORT=driver']);
          const guestReports = inGuest.stdout.split('\\n').filter(Boolean);
          const onHost = () => vm.journalEntries({ fields: { MESSAGE_ID: '${JOURNAL_DROPPED_MESSAGE_ID}' } }).length;
          for (let tries = 0; onHost() < guestReports.length && tries < 300; tries++) await new Promise((resolve) => setTimeout(resolve, 100));
          writeFileSync('counts.json', JSON.stringify({ received, sentTicks, keptTicks, guestReports, suppressed: vm.journal.suppressed }));
          expect(vm.journal.suppressed.total, 'fails on purpose, to show the report').toBe(0);
        });
      `,
    });
    const run = await startVitest(dir);
    const output = String(run.all);
    const counts = JSON.parse(await readFile(join(dir, 'counts.json'), 'utf8')) as {
      received: number;
      sentTicks: number;
      keptTicks: number;
      guestReports: string[];
      suppressed: { total: number; byUnit: Record<string, number> };
    };
    const { received, sentTicks, keptTicks, guestReports, suppressed } = counts;
    const guestTotal = guestReports.reduce((sum, line) => sum + Number(/Suppressed (\d+) messages/.exec(line)?.[1] ?? NaN), 0);
    console.info(
      `journald's rate limit (the unit's, a burst of 1,000 lines per 30 s): ${received} of ${FLOOD_LINES} lines kept; journald in the guest reported ${guestTotal} dropped ` +
        `in ${guestReports.length} reports, the handle counted ${suppressed.total}; ${keptTicks} of ${sentTicks} ticks kept`,
    );
    // The engine counts what journald reported, no more and no less.
    expect(suppressed.total).toBe(guestTotal);
    expect(guestReports.every((line) => /^Suppressed \d+ messages from flooder\.service$/.test(line)), guestReports.join('\n')).toBe(true);
    // A tick in the journal means journald read the whole flood and reported every drop before it.
    expect(keptTicks, 'no tick reached the journal within 150 ticks').toBeGreaterThan(0);
    expect(received + keptTicks + suppressed.total).toBe(FLOOD_LINES + sentTicks);
    expect(received).toBeLessThan(FLOOD_LINES);
    expect(suppressed.byUnit).toEqual({ 'flooder.service': suppressed.total });
    expect(await statuses(dir)).toMatchObject({ 'floods with the limit kept': { status: 'failed' } });
    // One line per report journald sent (a flood that spans two of its intervals gets two), together the whole count.
    const reported = [
      ...output.matchAll(
        /journald in the guest dropped (\d+) messages from flooder\.service \(its rate limit; they are missing from the journal\); journalRateLimit: false lifts the limit/g,
      ),
    ].map((match) => Number(match[1]));
    expect(reported).toHaveLength(guestReports.length);
    expect(reported.reduce((sum, count) => sum + count, 0)).toBe(suppressed.total);
    const summary = JSON.parse(await readFile(join(dir, 'artifacts', 'flood-floods-with-the-limit-kept', 'summary.json'), 'utf8'));
    expect(summary.journalSuppressed).toEqual(suppressed);
  });
});
