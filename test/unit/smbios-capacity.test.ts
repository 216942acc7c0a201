import { describe, expect, test } from 'vitest';
import { InvalidOptionsError } from '../../src/errors.js';
import { resolveMachineOptions } from '../../src/options/resolve-options.js';
import {
  ENGINE_CREDENTIALS_BYTES,
  SMBIOS_TABLES_MAX_BYTES,
  checkSmbiosCapacity,
  credentialStringBytes,
  largestCredentialValue,
  qemuOwnTablesBytes,
  userSmbiosBudget,
  userSmbiosStrings,
} from '../../src/options/smbios-capacity.js';
import { planCredentials, smbiosCredential } from '../../src/plan/credentials.js';
import { generateMachineKeys } from '../../src/ssh/keys.js';

const boot = { linux: '/boot/vmlinuz' };
const GiB = 1024 ** 3;

function problemsOf(options: object): string[] {
  try {
    resolveMachineOptions({ ...boot, ...options });
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidOptionsError);
    return (error as InvalidOptionsError).problems.map((problem) => `${problem.option}: ${problem.message}`);
  }
  throw new Error('expected the options to be rejected');
}

describe('SMBIOS capacity', () => {
  test('the string length is that of the string the engine writes', () => {
    for (const size of [0, 1, 2, 3, 4, 1000, 4097]) {
      const value = new Uint8Array(size).fill(7);
      expect(credentialStringBytes('app.token', size)).toBe(Buffer.byteLength(smbiosCredential('app.token', value)));
    }
  });

  test("the engine's own credentials fit in what is reserved for them, with the longest machine name", () => {
    const name = 'n'.repeat(63);
    const options = resolveMachineOptions({ ...boot, name });
    const credentials = planCredentials(options, { notify: 999_999, journal: 1_000_000 }, generateMachineKeys(name));
    const bytes = credentials.reduce((sum, credential) => sum + ('value' in credential ? Buffer.byteLength(smbiosCredential(credential.name, credential.value)) + 1 : 0), 0);
    expect(bytes).toBeLessThanOrEqual(ENGINE_CREDENTIALS_BYTES);
  });

  test("QEMU's own tables are estimated at or above what QEMU 7.2 was measured to build", () => {
    // Measured: 328 bytes up to 3 GiB, 361 up to 16 GiB, 414 for 17-32 GiB, 520 for 64 GiB, 1000 for 200 GiB.
    expect(qemuOwnTablesBytes(1 * GiB)).toBeGreaterThanOrEqual(328);
    expect(qemuOwnTablesBytes(16 * GiB)).toBeGreaterThanOrEqual(361);
    expect(qemuOwnTablesBytes(17 * GiB)).toBeGreaterThanOrEqual(414);
    expect(qemuOwnTablesBytes(64 * GiB)).toBeGreaterThanOrEqual(520);
    expect(qemuOwnTablesBytes(200 * GiB)).toBeGreaterThanOrEqual(1000);
    expect(userSmbiosBudget(GiB)).toBe(SMBIOS_TABLES_MAX_BYTES - qemuOwnTablesBytes(GiB) - ENGINE_CREDENTIALS_BYTES - 6);
  });

  test('a credential of 1.5 MiB is rejected by name, with the limit and what to do instead', () => {
    const [problem, ...rest] = problemsOf({ setCredential: { 'app.blob': new Uint8Array(1536 * 1024) } });
    expect(rest).toEqual([]);
    expect(problem).toMatch(/^setCredential\.app\.blob: is 1\.5 MiB, 2\.0 MiB as base64 in its SMBIOS string: too large for SMBIOS/);
    expect(problem).toContain(`QEMU's SMBIOS tables hold 65535 bytes in all, which leaves ${userSmbiosBudget(GiB)} bytes for credentials and smbios11 strings`);
    expect(problem).toMatch(/a credential value of at most 44\.\d KiB/);
    expect(problem).toContain("vm.exec(['sh', '-c', 'cat > /srv/data'], { input: data })");
  });

  test('the largest credential value that fits is accepted, one byte more is not', () => {
    const budget = userSmbiosBudget(GiB);
    const largest = largestCredentialValue('big', budget);
    expect(() => resolveMachineOptions({ ...boot, setCredential: { big: new Uint8Array(largest) } })).not.toThrow();
    expect(problemsOf({ setCredential: { big: new Uint8Array(largest + 1) } })).toHaveLength(1);
  });

  test('an smbios11 string too long is named by its index', () => {
    expect(problemsOf({ smbios11: ['ok=1', 'x'.repeat(70_000)] })).toEqual([expect.stringMatching(/^smbios11\.1: is 68\.4 KiB: too large for SMBIOS/)]);
  });

  test('values that fit alone but not together are reported together, largest first', () => {
    const value = 'x'.repeat(20_000);
    const [problem, ...rest] = problemsOf({ setCredential: { a: value, b: value }, smbios11: ['y'.repeat(30_000)] });
    expect(rest).toEqual([]);
    expect(problem).toMatch(/^setCredential, loadCredential, smbios11: together take \d+ bytes of SMBIOS strings, more than SMBIOS can carry/);
    expect(problem).toMatch(/Largest: smbios11\.0 \(29\.3 KiB\), setCredential\.a \(26\.1 KiB\), setCredential\.b \(26\.1 KiB\);/);
  });

  test("loadCredential's files count with their sizes", () => {
    const options = resolveMachineOptions({ ...boot, loadCredential: { file: '/etc/file' } });
    expect(userSmbiosStrings(options, { file: 3000 })).toEqual([
      { option: 'loadCredential.file', credential: 'file', valueBytes: 3000, stringBytes: credentialStringBytes('file', 3000) },
    ]);
    expect(checkSmbiosCapacity(userSmbiosStrings(options, { file: 100_000 }), GiB)).toEqual([
      { option: 'loadCredential.file', message: expect.stringMatching(/^is 97\.7 KiB, 130\.2 KiB as base64/) },
    ]);
  });

  test('a memory size whose own SMBIOS tables exceed the limit is a ram problem', () => {
    expect(checkSmbiosCapacity([], 64 * 1024 ** 4)).toEqual([{ option: 'ram', message: expect.stringMatching(/^64T is more than QEMU can describe/) }]);
    // The constructor leaves it to the start, which compares with the host's memory first.
    expect(() => resolveMachineOptions({ ...boot, ram: '64T' })).not.toThrow();
  });
});
