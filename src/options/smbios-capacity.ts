/**
 * How much the SMBIOS tables can carry. Credentials and `smbios11` strings travel as SMBIOS type 11
 * strings, credentials base64-encoded (`io.systemd.credential.binary:NAME=BASE64`). QEMU builds
 * SMBIOS 2.1 tables for the `pc` machine, whose entry point records their total length in 16 bits:
 * beyond 65535 bytes QEMU refuses to start ("SMBIOS 2.1 table length … exceeds 65535").
 *
 * Measured with QEMU 7.2 (`-machine pc -S`, one type 11 string of growing length): a string of
 * 65207 bytes starts, 65208 does not, so QEMU's own tables and the type 11 structure take 328 bytes
 * with up to 3 GiB of guest memory; more memory adds a region (33 bytes) and a memory device table
 * per 16 GiB (53 bytes and more); each further string adds its length and a NUL.
 */
import type { OptionProblem } from '../errors.js';
import { engineKernelArgs, STUB_CMDLINE_EXTRA } from '../plan/boot-plan.js';
import type { KernelKind } from './pe-sections.js';
import { describeBytes, formatSize } from './size.js';

/** The most the SMBIOS 2.1 tables can hold, all tables together. */
export const SMBIOS_TABLES_MAX_BYTES = 65_535;

/** The prefix of a base64-encoded credential's SMBIOS type 11 string. */
export const BINARY_CREDENTIAL_PREFIX = 'io.systemd.credential.binary:';

/**
 * What the engine's own credentials take at most: the notify and journal sockets, the hostname, the
 * SSH client key twice, the host key pair in tmpfiles lines and journald's drop-in, about 2.7 KiB
 * with the longest name, and with `network` the guest's network configuration and networkd drop-in,
 * about 0.5 KiB more.
 */
export const ENGINE_CREDENTIALS_BYTES = 4_096;

/** The type 11 structure around its strings: a 5-byte header and the final NUL. */
const TYPE_11_STRUCTURE_BYTES = 6;

/** QEMU's own tables for a guest of `ramBytes`, rounded up from what QEMU 7.2 builds. */
export function qemuOwnTablesBytes(ramBytes: number): number {
  const memoryDevices = Math.max(1, Math.ceil(ramBytes / 16 / 1024 ** 3));
  return 400 + 64 * memoryDevices;
}

/** Bytes left for the user's credentials and `smbios11` strings, each of which also takes a NUL. */
export function userSmbiosBudget(ramBytes: number): number {
  return SMBIOS_TABLES_MAX_BYTES - qemuOwnTablesBytes(ramBytes) - ENGINE_CREDENTIALS_BYTES - TYPE_11_STRUCTURE_BYTES;
}

/** Length of the SMBIOS type 11 string that carries a credential of `valueBytes` bytes. */
export function credentialStringBytes(name: string, valueBytes: number): number {
  return Buffer.byteLength(`${BINARY_CREDENTIAL_PREFIX}${name}=`) + 4 * Math.ceil(valueBytes / 3);
}

/** Largest credential value that fits alone in `budget` bytes of SMBIOS strings. */
export function largestCredentialValue(name: string, budget: number): number {
  return Math.max(0, Math.floor((budget - 1 - credentialStringBytes(name, 0)) / 4) * 3);
}

/** One SMBIOS type 11 string the user asked for. */
export interface UserSmbiosString {
  /** The option that gives it, e.g. `setCredential.app.token` or `smbios11.0`. */
  option: string;
  /** The credential name, for credentials. */
  credential?: string;
  /** Size of the credential's value (before base64), for credentials. */
  valueBytes?: number;
  /** Length of the SMBIOS string. */
  stringBytes: number;
}

/**
 * The SMBIOS strings of the user's credentials, `smbios11`, and `kernelArgs` where they travel in
 * SMBIOS (`kernelArgsStrings` strings: 2 for a UEFI disk boot, 1 for a UKI, 0 for a kernel booted
 * with `-append`); `fileSizes` gives loadCredential's file sizes by name.
 */
export function userSmbiosStrings(
  options: { setCredential: Record<string, Uint8Array>; loadCredential: Record<string, string>; smbios11: readonly string[]; kernelArgs?: readonly string[] },
  fileSizes: Readonly<Record<string, number>> = {},
  kernelArgsStrings = 0,
): UserSmbiosString[] {
  const credential = (option: string, name: string, valueBytes: number): UserSmbiosString => ({
    option: `${option}.${name}`,
    credential: name,
    valueBytes,
    stringBytes: credentialStringBytes(name, valueBytes),
  });
  return [
    ...Object.entries(options.setCredential).map(([name, value]) => credential('setCredential', name, value.byteLength)),
    ...Object.keys(options.loadCredential)
      .filter((name) => fileSizes[name] !== undefined)
      .map((name) => credential('loadCredential', name, fileSizes[name] ?? 0)),
    ...options.smbios11.map((text, index) => ({ option: `smbios11.${index}`, stringBytes: Buffer.byteLength(text) })),
    ...Array.from({ length: kernelArgsStrings }, () => ({
      option: 'kernelArgs',
      stringBytes: Buffer.byteLength(`${STUB_CMDLINE_EXTRA}=${[...engineKernelArgs(), ...(options.kernelArgs ?? [])].join(' ')}`),
    })),
  ];
}

/** How many SMBIOS strings carry `kernelArgs` on the boot path the options choose (see src/plan/boot-plan.ts). */
export function kernelArgsStringCount(options: { linux: string | undefined; image: string | undefined; firmware?: string }, kernelKind: KernelKind | undefined): number {
  if (kernelKind === 'uki') return 1;
  return options.linux === undefined && options.image !== undefined ? 2 : 0;
}

const INSTEAD =
  "copy large data into the guest after it booted instead, e.g. vm.exec(['sh', '-c', 'cat > /srv/data'], { input: data }), or build it into the image";

/**
 * Problems when the strings do not fit in the SMBIOS tables of a guest with `ramBytes` of memory. A
 * memory size whose own tables leave no room at all (about 15 TiB) is reported as a `ram` problem.
 */
export function checkSmbiosCapacity(strings: readonly UserSmbiosString[], ramBytes: number): OptionProblem[] {
  const budget = userSmbiosBudget(ramBytes);
  if (budget <= 0) {
    const message =
      `${formatSize(ramBytes)} is more than QEMU can describe: it needs an SMBIOS table per 16 GiB of guest memory, ` +
      `and these alone exceed the ${SMBIOS_TABLES_MAX_BYTES} bytes its SMBIOS tables hold: give the guest less memory`;
    return [{ option: 'ram', message }];
  }
  const cost = (entry: UserSmbiosString) => entry.stringBytes + 1;
  const limit = `QEMU's SMBIOS tables hold ${SMBIOS_TABLES_MAX_BYTES} bytes in all, which leaves ${budget} bytes for credentials and smbios11 strings`;

  const oversized = strings.filter((entry) => cost(entry) > budget);
  if (oversized.length > 0) {
    return oversized.map((entry) => {
      const size =
        entry.valueBytes === undefined
          ? `is ${describeBytes(entry.stringBytes)}`
          : `is ${describeBytes(entry.valueBytes)}, ${describeBytes(entry.stringBytes)} as base64 in its SMBIOS string`;
      const most =
        entry.credential === undefined ? '' : ` (a credential value of at most ${describeBytes(largestCredentialValue(entry.credential, budget))})`;
      return { option: entry.option, message: `${size}: too large for SMBIOS, as ${limit}${most}; ${INSTEAD}` };
    });
  }

  const total = strings.reduce((sum, entry) => sum + cost(entry), 0);
  if (total <= budget) return [];
  const largest = [...strings]
    .sort((a, b) => b.stringBytes - a.stringBytes)
    .slice(0, 5)
    .map((entry) => `${entry.option} (${describeBytes(entry.stringBytes)})`);
  return [
    {
      option: 'setCredential, loadCredential, smbios11',
      message: `together take ${total} bytes of SMBIOS strings, more than SMBIOS can carry: ${limit}. Largest: ${largest.join(', ')}; ${INSTEAD}`,
    },
  ];
}
