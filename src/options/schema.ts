/**
 * The zod schema behind {@link MachineOptions}, with messages that name what is accepted.
 */
import { z } from 'zod';
import { diskNetworkShape } from './disk-network-schema.js';
import type { MachineOptions } from './machine-options.js';
import { SIZE_FORMAT, parseSize } from './size.js';

/** Smallest guest memory the engine accepts; systemd and a kernel need more than this anyway. */
export const MIN_RAM_BYTES = 64 * 1024 ** 2;

const CREDENTIAL_NAME = /^[^/=\s\0]{1,255}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const path = (what: string) =>
  z.string({ error: `expected the path of ${what} as a string` }).min(1, { error: `expected the path of ${what}, got an empty string` });

/**
 * The longest delay a Node.js timer holds: 2**31 - 1 ms (about 24.8 days). A longer one overflows and
 * fires after 1 ms, so a timeout beyond it would expire at once instead of never.
 */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** A timeout in milliseconds that a timer can hold. */
export const milliseconds = (what: string) =>
  z
    .number({ error: `expected ${what} in milliseconds as a number` })
    .int({ error: `expected ${what} as a whole number of milliseconds` })
    .positive({ error: `expected ${what} as a positive number of milliseconds` })
    .max(MAX_TIMER_MS, { error: (issue) => `expected ${what} of at most ${MAX_TIMER_MS} ms (about 24.8 days, the longest a timer can wait), got ${issue.input}` });

const credentialName = z.string().regex(CREDENTIAL_NAME, {
  error: 'credential names are 1-255 characters without "/", "=", white space or NUL (e.g. "mytest.token")',
});

const ram = z.union([z.string(), z.number()], { error: `expected ${SIZE_FORMAT}` }).superRefine((value, context) => {
  const bytes = parseSize(value);
  if (bytes === undefined) context.addIssue({ code: 'custom', message: `expected ${SIZE_FORMAT}, got ${JSON.stringify(value)}` });
  else if (bytes < MIN_RAM_BYTES) context.addIssue({ code: 'custom', message: 'expected at least 64M of guest memory' });
});

const argumentList = (what: string) =>
  z.array(z.string({ error: `expected ${what} as strings` }).refine((arg) => !arg.includes('\n'), { error: `${what} must not contain newlines` }), {
    error: `expected an array of ${what}`,
  });

const bindList = (what: string) =>
  z.array(
    z
      .string({ error: `expected ${what} entries as strings, SRC[:DST]` })
      .min(1, { error: `expected SRC[:DST] (a host directory and where the guest mounts it), got an empty string` })
      .refine((spec) => !/[\n\0]/.test(spec), { error: `${what} entries must not contain newlines or NUL` }),
    { error: `expected an array of SRC[:DST] strings, e.g. ['/srv/data:/mnt/data']` },
  );

export const machineOptionsSchema = z.strictObject({
  linux: path('a kernel image (e.g. vmlinuz)').optional(),
  initrd: z.union([path('an initrd'), z.array(path('an initrd'))], { error: 'expected the path of an initrd or an array of paths' }).optional(),
  image: path('a raw or qcow2 disk image').optional(),
  imageFormat: z.enum(['auto', 'raw', 'qcow2'], { error: "expected 'auto', 'raw' or 'qcow2'" }).optional(),
  // extraDrives, growImage, discardDisk, network, portForwards
  ...diskNetworkShape,
  directory: path('a directory holding an OS tree').optional(),
  ephemeral: z.boolean({ error: 'expected true (the guest writes to a throwaway layer) or false (to the directory itself)' }).optional(),
  bind: bindList('bind').optional(),
  bindReadOnly: bindList('bindReadOnly').optional(),
  cpus: z
    .number({ error: 'expected the number of virtual CPUs as a number' })
    .int({ error: 'expected a whole number of virtual CPUs' })
    .min(1, { error: 'expected at least 1 virtual CPU' })
    .max(255, { error: 'expected at most 255 virtual CPUs' })
    .optional(),
  ram: ram.optional(),
  kvm: z.union([z.boolean(), z.literal('auto')], { error: "expected true, false or 'auto'" }).optional(),
  vsock: z.union([z.enum(['auto', 'kernel', 'user-space']), z.literal(false)], { error: "expected 'auto', 'kernel', 'user-space' or false" }).optional(),
  vsockCid: z
    .number({ error: 'expected a vsock CID as a number, 3 to 4294967294 (0xFFFFFFFE)' })
    .int({ error: 'expected a whole number, 3 to 4294967294 (0xFFFFFFFE)' })
    .min(3, { error: 'expected a CID of at least 3 (0, 1 and 2 are reserved: hypervisor, local, host)' })
    .max(0xffff_fffe, { error: 'expected a CID of at most 4294967294 (0xFFFFFFFE; 0xFFFFFFFF is VMADDR_CID_ANY)' })
    .optional(),
  tpm: z.union([z.boolean(), z.literal('auto')], { error: "expected true, false or 'auto'" }).optional(),
  tpmState: z
    .string({ error: "expected 'auto', 'off' or the path of a directory for the TPM state" })
    .min(1, { error: "expected 'auto', 'off' or the path of a directory for the TPM state, got an empty string" })
    .optional(),
  kernelArgs: argumentList('kernel arguments').optional(),
  firmware: path('a QEMU firmware descriptor (a JSON file as in /usr/share/qemu/firmware)').optional(),
  secureBoot: z.union([z.boolean(), z.literal('auto')], { error: "expected true, false or 'auto'" }).optional(),
  setCredential: z
    .record(credentialName, z.union([z.string(), z.instanceof(Uint8Array)], { error: 'expected a string or a Uint8Array/Buffer value' }), {
      error: (issue) => (issue.code === 'invalid_type' ? 'expected an object mapping credential names to values' : undefined),
    })
    .optional(),
  loadCredential: z
    .record(credentialName, path('the file holding the credential'), {
      error: (issue) => (issue.code === 'invalid_type' ? 'expected an object mapping credential names to file paths' : undefined),
    })
    .optional(),
  smbios11: z
    .array(
      z
        .string({ error: 'expected SMBIOS type 11 strings as strings' })
        .min(1, { error: 'expected a non-empty SMBIOS type 11 string, e.g. io.systemd.stub.kernel-cmdline-extra=quiet' })
        .refine((text) => !text.includes('\n'), { error: 'SMBIOS type 11 strings must not contain newlines' })
        .refine((text) => !text.includes('\0'), { error: 'SMBIOS type 11 strings must not contain NUL, which ends a string there' }),
      { error: 'expected an array of SMBIOS type 11 strings' },
    )
    .optional(),
  ssh: z.boolean({ error: 'expected true or false' }).optional(),
  notifyReady: z.boolean({ error: 'expected true or false' }).optional(),
  forwardJournal: z.boolean({ error: 'expected true or false' }).optional(),
  journalRateLimit: z.boolean({ error: 'expected true (keep journald\'s rate limit) or false (lift it)' }).optional(),
  bootTimeout: milliseconds('the boot timeout').optional(),
  shutdownTimeout: milliseconds('the shutdown timeout').optional(),
  artifactsDir: path('a directory for artifacts').optional(),
  name: z
    .string()
    .regex(/^[a-zA-Z0-9][a-zA-Z0-9-]{0,62}$/, { error: 'expected a hostname-like name: letters, digits and "-", at most 63 characters' })
    .optional(),
  uuid: z.string().regex(UUID, { error: 'expected a UUID like 0b3e2f4c-…' }).optional(),
  consoleSocket: path('the console\'s Unix socket')
    .refine((value) => Buffer.byteLength(value) <= 107, { error: 'expected a Unix socket path of at most 107 bytes' })
    .optional(),
  qemuBinary: path('the QEMU binary').optional(),
  qemuArgs: argumentList('QEMU arguments').optional(),
}) satisfies z.ZodType<MachineOptions>;

/** Every option name, for "did you mean" hints. */
export const MACHINE_OPTION_NAMES: readonly string[] = Object.keys(machineOptionsSchema.shape);
