import { describe, expect, test } from 'vitest';
import { JournalExportParser, type ExportedEntry } from '../../src/journal/export-parser.js';
import { describeMatch, matchesEntry, toJournalEntry } from '../../src/journal/journal-entry.js';
import { formatJournalLine } from '../../src/journal/journal-line.js';
import {
  describeSuppression,
  JOURNAL_DROPPED_MESSAGE_ID,
  readSuppressionReport,
  SuppressionTally,
} from '../../src/journal/suppressed-messages.js';

function binaryField(name: string, value: string): Buffer {
  const data = Buffer.from(value);
  const size = Buffer.alloc(8);
  size.writeBigUInt64LE(BigInt(data.length));
  return Buffer.concat([Buffer.from(`${name}\n`), size, data, Buffer.from('\n')]);
}

const firstEntry = Buffer.from('__CURSOR=s=1\n__REALTIME_TIMESTAMP=1700000000123456\nPRIORITY=6\nSYSLOG_IDENTIFIER=mytest\nMESSAGE=hello\n_PID=42\n\n');
const secondEntry = Buffer.concat([
  Buffer.from('__CURSOR=s=2\nPRIORITY=3\n_SYSTEMD_UNIT=app.service\n'),
  binaryField('MESSAGE', 'line one\nline two'),
  Buffer.from('\n'),
]);
const stream = Buffer.concat([firstEntry, secondEntry]);

function parseInChunks(size: number): ExportedEntry[] {
  const entries: ExportedEntry[] = [];
  const parser = new JournalExportParser((entry) => entries.push(entry));
  for (let offset = 0; offset < stream.length; offset += size) parser.write(stream.subarray(offset, offset + size));
  expect(parser.pendingBytes).toBe(0);
  return entries;
}

describe('journal export format', () => {
  test.each([1, 3, 7, 64, stream.length])('parses the same entries when fed %i bytes at a time', (size) => {
    const entries = parseInChunks(size);
    expect(entries.map((entry) => entry.fields)).toEqual([
      { __CURSOR: 's=1', __REALTIME_TIMESTAMP: '1700000000123456', PRIORITY: '6', SYSLOG_IDENTIFIER: 'mytest', MESSAGE: 'hello', _PID: '42' },
      { __CURSOR: 's=2', PRIORITY: '3', _SYSTEMD_UNIT: 'app.service', MESSAGE: 'line one\nline two' },
    ]);
    expect(entries.map((entry) => entry.bytes)).toEqual([firstEntry, secondEntry]);
  });

  test('keeps an incomplete entry pending', () => {
    const entries: ExportedEntry[] = [];
    const parser = new JournalExportParser((entry) => entries.push(entry));
    parser.write(Buffer.from('MESSAGE=half'));
    expect(entries).toEqual([]);
    expect(parser.pendingBytes).toBe(12);
  });
});

describe('journal entries and matches', () => {
  const entry = toJournalEntry({
    MESSAGE: 'Started app.service - My App.',
    PRIORITY: '6',
    SYSLOG_IDENTIFIER: 'systemd',
    UNIT: 'app.service',
    _SYSTEMD_UNIT: 'init.scope',
    _PID: '1',
    __REALTIME_TIMESTAMP: '1700000000123456',
  });

  test('exposes the common fields', () => {
    expect(entry).toMatchObject({ message: 'Started app.service - My App.', priority: 6, identifier: 'systemd', unit: 'init.scope', pid: 1 });
    expect(entry.time?.toISOString()).toBe('2023-11-14T22:13:20.123Z');
  });

  test('unit matches the unit itself and the system manager talking about it, like journalctl -u', () => {
    expect(matchesEntry(entry, { unit: 'app.service' })).toBe(true);
    expect(matchesEntry(entry, { unit: 'init.scope' })).toBe(true);
    expect(matchesEntry(entry, { unit: 'other.service' })).toBe(false);
  });

  test('priority selects this level and more important ones, like journalctl -p', () => {
    expect(matchesEntry(entry, { priority: 'info' })).toBe(true);
    expect(matchesEntry(entry, { priority: 'warning' })).toBe(false);
    expect(matchesEntry(entry, { priority: 7 })).toBe(true);
  });

  test('message by substring or expression, fields by value or expression', () => {
    expect(matchesEntry(entry, { message: 'My App' })).toBe(true);
    expect(matchesEntry(entry, { message: /^Started \S+\.service/ })).toBe(true);
    expect(matchesEntry(entry, { message: /^Stopped/ })).toBe(false);
    const global = /app/g;
    expect([matchesEntry(entry, { message: global }), matchesEntry(entry, { message: global })]).toEqual([true, true]);
    expect(matchesEntry(entry, { identifier: 'systemd', fields: { _PID: '1', UNIT: /\.service$/ } })).toBe(true);
    expect(matchesEntry(entry, { fields: { _COMM: 'x' } })).toBe(false);
  });

  test('describes a match for timeout messages', () => {
    expect(describeMatch({ identifier: 'mytest', message: /hel+o/ })).toBe('a journal entry with identifier=mytest, message=/hel+o/');
  });
});

describe("journald's reports of rate-limited messages", () => {
  // As journald 257 writes them (server_driver_message), trusted fields included.
  const report = {
    _TRANSPORT: 'driver',
    SYSLOG_IDENTIFIER: 'systemd-journald',
    MESSAGE_ID: JOURNAL_DROPPED_MESSAGE_ID,
    MESSAGE: 'Suppressed 77881 messages from flooder.service',
    N_DROPPED: '77881',
    PRIORITY: '6',
  };

  test('a report gives the unit and the count', () => {
    expect(readSuppressionReport(report)).toEqual({ unit: 'flooder.service', count: 77881 });
  });

  test('the message alone suffices (journald versions without N_DROPPED)', () => {
    const { N_DROPPED, MESSAGE_ID, ...older } = report;
    void N_DROPPED;
    void MESSAGE_ID;
    expect(readSuppressionReport(older)).toEqual({ unit: 'flooder.service', count: 77881 });
  });

  test('the same text from any other program is not a report', () => {
    expect(readSuppressionReport({ ...report, _TRANSPORT: 'stdout' })).toBeUndefined();
    expect(readSuppressionReport({ ...report, _TRANSPORT: 'journal' })).toBeUndefined();
    expect(readSuppressionReport({ MESSAGE: report.MESSAGE })).toBeUndefined();
  });

  test("journald's other messages and nonsense counts are not reports", () => {
    expect(readSuppressionReport({ _TRANSPORT: 'driver', MESSAGE: 'Journal started' })).toBeUndefined();
    expect(readSuppressionReport({ ...report, N_DROPPED: '0' })).toBeUndefined();
    expect(readSuppressionReport({ ...report, N_DROPPED: 'many', MESSAGE: 'Suppressed many messages' })).toBeUndefined();
  });

  test('reports add up in all and by unit; a snapshot does not change later', () => {
    const tally = new SuppressionTally();
    expect(tally.snapshot()).toEqual({ total: 0, byUnit: {} });
    tally.add({ unit: 'a.service', count: 10 });
    const early = tally.snapshot();
    tally.add({ unit: 'b.scope', count: 5 });
    tally.add({ unit: 'a.service', count: 1 });
    expect(tally.snapshot()).toEqual({ total: 16, byUnit: { 'a.service': 11, 'b.scope': 5 } });
    expect(early).toEqual({ total: 10, byUnit: { 'a.service': 10 } });
  });

  test('is described in one line that names unit and count', () => {
    expect(describeSuppression({ unit: 'flooder.service', count: 3 })).toBe(
      'journald in the guest dropped 3 messages from flooder.service (its rate limit; they are missing from the journal)',
    );
  });
});

test('a journal entry as one line: time, priority, who with pid, unit, message on one line', () => {
  const time = String(Date.UTC(2026, 0, 1, 12, 3, 4, 567) * 1000);
  const sshd = toJournalEntry({ MESSAGE: 'first\nsecond', PRIORITY: '3', SYSLOG_IDENTIFIER: 'sshd-session', _PID: '812', _SYSTEMD_UNIT: 'sshd@0.service', __REALTIME_TIMESTAMP: time });
  expect(formatJournalLine(sshd)).toBe('12:03:04.567 sshd-session[812]: first⏎second');
  expect(formatJournalLine(sshd, { priority: true, unit: true })).toBe('12:03:04.567 err sshd-session[812] (sshd@0.service): first⏎second');
  expect(formatJournalLine(sshd, { time: false, maxMessageChars: 3 })).toBe('sshd-session[812]: fir…');
  const kernel = toJournalEntry({ MESSAGE: 'Oops', _TRANSPORT: 'kernel', _PID: '1' });
  expect(formatJournalLine(kernel, { priority: true })).toBe('--:--:--.--- ? kernel: Oops');
});
