/**
 * The zod schemas of the disk and network options (`extraDrives`, `growImage`, `discardDisk`,
 * `network`, `portForwards`), with messages that name what is accepted. Shorthands (a drive as a
 * path, a forward as a guest port) are normalised to their object form here.
 */
import { z } from 'zod';
import { EXTRA_DRIVE_SLOTS } from '../plan/pci-slots.js';
import { SIZE_FORMAT, parseSize } from './size.js';

/** Each extra drive sits at a PCI slot of its own (see pci-slots.ts). */
export const MAX_EXTRA_DRIVES = EXTRA_DRIVE_SLOTS;

/** virtio-blk hands the guest at most 20 bytes of serial (VIRTIO_BLK_ID_BYTES). */
export const SERIAL_PATTERN = /^[A-Za-z0-9._+-]{1,20}$/;

/** Linux interface names: at most 15 bytes (IFNAMSIZ - 1), no "/", ":" or white space. */
const TAP_NAME_PATTERN = /^[A-Za-z0-9_.-]{1,15}$/;

const DRIVE_FORM = "a path, or { path, format?: 'auto' | 'raw' | 'qcow2', readOnly?: boolean, ephemeral?: boolean, serial?: string }";
const FORWARD_FORM = 'a guest TCP port, or { guest: PORT, host?: PORT } (host 0 picks a free port)';

export const EXTRA_DRIVE_KEYS = ['path', 'format', 'readOnly', 'ephemeral', 'serial'] as const;
export const PORT_FORWARD_KEYS = ['guest', 'host'] as const;

const port = (what: string, min: 0 | 1) =>
  z
    .number({ error: `expected the ${what} TCP port as a number` })
    .int({ error: `expected the ${what} TCP port as a whole number` })
    .min(min, { error: `expected a ${what} TCP port of at least ${min}` })
    .max(65_535, { error: `expected a ${what} TCP port of at most 65535` });

const extraDrive = z.preprocess(
  (value) => (typeof value === 'string' ? { path: value } : value),
  z.strictObject(
    {
      path: z
        .string({ error: 'expected the path of a raw or qcow2 image or a block device as a string' })
        .min(1, { error: 'expected the path of a raw or qcow2 image or a block device, got an empty string' }),
      format: z.enum(['auto', 'raw', 'qcow2'], { error: "expected 'auto', 'raw' or 'qcow2'" }).optional(),
      readOnly: z.boolean({ error: 'expected true or false' }).optional(),
      ephemeral: z.boolean({ error: 'expected true (writes go to a throwaway overlay) or false (to the file itself)' }).optional(),
      serial: z
        .string({ error: 'expected the serial as a string' })
        .regex(SERIAL_PATTERN, { error: 'expected a serial of 1-20 letters, digits, ".", "_", "+" or "-" (virtio-blk carries 20 bytes)' })
        .optional(),
    },
    { error: (issue) => (issue.code === 'invalid_type' ? `expected ${DRIVE_FORM}` : undefined) },
  ),
);

const portForward = z.preprocess(
  (value) => (typeof value === 'number' ? { guest: value } : value),
  z.strictObject(
    { guest: port('guest', 1), host: port('host', 0).optional() },
    { error: (issue) => (issue.code === 'invalid_type' ? `expected ${FORWARD_FORM}` : undefined) },
  ),
);

const network = z.union(
  [
    z.literal(['none', 'user']),
    z.strictObject({
      tap: z.string().regex(TAP_NAME_PATTERN, { error: 'expected a tap interface name: 1-15 letters, digits, "_", "." or "-"' }),
    }),
  ],
  { error: "expected 'none', 'user' or { tap: 'NAME' }" },
);

const growImage = z.union([z.string(), z.number()], { error: `expected ${SIZE_FORMAT}` }).superRefine((value, context) => {
  const bytes = parseSize(value);
  if (bytes === undefined) context.addIssue({ code: 'custom', message: `expected ${SIZE_FORMAT}, got ${JSON.stringify(value)}` });
  else if (bytes <= 0) context.addIssue({ code: 'custom', message: 'expected a size larger than 0' });
});

/** The entries of the machine options schema for disks and network. */
export const diskNetworkShape = {
  extraDrives: z
    .array(extraDrive, { error: `expected an array of drives, each ${DRIVE_FORM}` })
    .max(MAX_EXTRA_DRIVES, { error: `expected at most ${MAX_EXTRA_DRIVES} extra drives` })
    .optional(),
  growImage: growImage.optional(),
  discardDisk: z.boolean({ error: 'expected true (pass discards on) or false (ignore them)' }).optional(),
  network: network.optional(),
  portForwards: z.array(portForward, { error: `expected an array of port forwards, each ${FORWARD_FORM}` }).optional(),
};

/** Names accepted inside a nested disk or network option, for "did you mean" hints; undefined elsewhere. */
export function diskNetworkKeysAt(path: readonly PropertyKey[]): readonly string[] | undefined {
  if (path[0] === 'extraDrives') return EXTRA_DRIVE_KEYS;
  if (path[0] === 'portForwards') return PORT_FORWARD_KEYS;
  if (path[0] === 'network') return ['tap'];
  return undefined;
}
