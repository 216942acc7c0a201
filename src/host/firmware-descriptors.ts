/**
 * UEFI firmware, found as QEMU and systemd-vmspawn find it: through the JSON firmware descriptors of
 * QEMU's firmware interop specification (docs/interop/firmware.json in QEMU) in
 * `$XDG_CONFIG_HOME/qemu/firmware`, `/etc/qemu/firmware` and `/usr/share/qemu/firmware`. A file in a
 * more specific directory hides one of the same name in a less specific one (an empty file hides it
 * altogether); the rest are taken in the order of their names, so `40-…` comes before `60-…`.
 */
import { readdir, readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { basename, join } from 'node:path';

/** One firmware, as its descriptor describes it. */
export interface FirmwareDescriptor {
  /** The descriptor file. */
  path: string;
  /** The descriptor's file name, e.g. `60-edk2-x86_64.json`. */
  name: string;
  description: string;
  /** e.g. `secure-boot`, `requires-smm`, `enrolled-keys`, `acpi-s3`. */
  features: string[];
  /** QEMU machine type patterns from the x86_64 target, e.g. `pc-q35-*`, `pc-i440fx-*`. */
  machines: string[];
  /** The firmware code, mapped read-only as pflash unit 0. */
  code: { path: string; format: 'raw' | 'qcow2' };
  /** The template of the firmware's variable store, copied for each machine and mapped as pflash unit 1. */
  varsTemplate: { path: string; format: 'raw' | 'qcow2' };
}

/** The directories searched, most specific first. */
export function firmwareDescriptorDirs(env: NodeJS.ProcessEnv = process.env): string[] {
  const configHome = env.XDG_CONFIG_HOME || join(env.HOME || homedir(), '.config');
  return [join(configHome, 'qemu', 'firmware'), '/etc/qemu/firmware', '/usr/share/qemu/firmware'];
}

/**
 * The UEFI firmware for x86_64 guests that the descriptors describe, in the order the engine
 * considers them. Descriptors that cannot be read, are not JSON, or describe anything else
 * (SeaBIOS, other architectures, firmware not mapped as flash) are left out.
 */
export async function listFirmware(dirs: readonly string[] = firmwareDescriptorDirs()): Promise<FirmwareDescriptor[]> {
  const chosen = new Map<string, string>();
  for (const dir of [...dirs].reverse()) {
    const names = await readdir(dir).catch(() => [] as string[]);
    for (const name of names) if (name.endsWith('.json')) chosen.set(name, join(dir, name));
  }
  const found: FirmwareDescriptor[] = [];
  for (const name of [...chosen.keys()].sort()) {
    const text = await readFile(chosen.get(name)!, 'utf8').catch(() => '');
    if (text.trim() === '') continue; // unreadable, or an empty file that masks a less specific one
    const parsed = parseFirmwareDescriptor(text, chosen.get(name)!);
    if ('descriptor' in parsed) found.push(parsed.descriptor);
  }
  return found;
}

/** Reads one descriptor file, saying why it cannot be used when it cannot. */
export async function readFirmwareDescriptor(path: string): Promise<{ descriptor: FirmwareDescriptor } | { problem: string }> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    return { problem: `cannot read it (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})` };
  }
  return parseFirmwareDescriptor(text, path);
}

/** Parses a descriptor: UEFI, for x86_64, mapped as flash with a code file and an NVRAM template. */
export function parseFirmwareDescriptor(text: string, path: string): { descriptor: FirmwareDescriptor } | { problem: string } {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { problem: 'it is not JSON: expected a QEMU firmware descriptor (as in /usr/share/qemu/firmware)' };
  }
  const data = json as Record<string, unknown>;
  if (typeof data !== 'object' || data === null || !Array.isArray(data['interface-types'])) {
    return { problem: 'it is not a QEMU firmware descriptor: it has no "interface-types" list' };
  }
  if (!data['interface-types'].includes('uefi')) return { problem: 'it describes no UEFI firmware ("interface-types" lacks "uefi")' };
  const target = (Array.isArray(data.targets) ? data.targets : []).find(
    (entry): entry is { machines?: unknown } => typeof entry === 'object' && entry !== null && (entry as { architecture?: unknown }).architecture === 'x86_64',
  );
  if (!target) return { problem: 'it has no x86_64 target' };
  const mapping = data.mapping as Record<string, unknown> | undefined;
  if (mapping?.device !== 'flash') return { problem: `its firmware is mapped as ${JSON.stringify(mapping?.device)}, the engine maps firmware as "flash"` };
  const code = flashFile(mapping.executable);
  const vars = flashFile(mapping['nvram-template']);
  if (!code || !vars) return { problem: 'its "mapping" lacks an "executable" or "nvram-template" file' };
  return {
    descriptor: {
      path,
      name: basename(path),
      description: typeof data.description === 'string' ? data.description : '',
      features: stringsOf(data.features),
      machines: stringsOf(target.machines),
      code,
      varsTemplate: vars,
    },
  };
}

function flashFile(value: unknown): FirmwareDescriptor['code'] | undefined {
  const file = value as { filename?: unknown; format?: unknown } | undefined;
  if (typeof file?.filename !== 'string') return undefined;
  return { path: file.filename, format: file.format === 'qcow2' ? 'qcow2' : 'raw' };
}

function stringsOf(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : [];
}
