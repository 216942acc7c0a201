/**
 * Carries out the file part of a plan: credential files (0600), the merged initrd, the firmware's
 * variable store, the disk overlays, the directories helpers need, and the QEMU command line written
 * to the artifacts.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { chmod, copyFile, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { execa } from 'execa';
import { VmspawnError } from '../errors.js';
import { smbiosCredential } from '../plan/credentials.js';
import type { PlannedOverlay } from '../plan/disk-plan.js';
import type { MachineLayout } from '../plan/machine-layout.js';
import type { MachinePlan, PlannedSmbiosFile } from '../plan/plan-machine.js';
import { quoteArgument } from '../ssh/shell-quote.js';

export async function materializePlan(plan: MachinePlan, layout: MachineLayout, qemuImg: string | undefined): Promise<void> {
  await mkdir(layout.credentialsDir, { mode: 0o700 });
  for (const directory of plan.directories) await mkdir(directory, { recursive: true, mode: 0o700 });
  await Promise.all(plan.smbiosFiles.map(writeSmbiosFile));
  for (const dir of plan.virtiofs.directories) await mkdir(dir, { mode: 0o700 });
  if (plan.initrdParts.length > 0) await concatenateInitrds(plan.initrdParts, layout.mergedInitrd);
  // Each machine gets its own variable store, so the firmware never writes the template.
  const nvram = plan.boot.firmware?.nvram;
  if (nvram) {
    await copyFile(nvram.template, nvram.path);
    await chmod(nvram.path, 0o600);
  }
  for (const overlay of [...(plan.overlay ? [plan.overlay] : []), ...plan.extraDriveOverlays]) {
    if (!qemuImg) throw new VmspawnError('qemu-img is needed to create the disk overlay');
    await createOverlay(qemuImg, overlay);
  }
  await writeFile(layout.qemuCommandLine, formatCommandLine(plan.qemu.binary, plan.qemu.args));
}

/** A qcow2 file whose reads fall through to `base`, which QEMU then opens read-only; `sizeBytes` grows it. */
async function createOverlay(qemuImg: string, { base, baseFormat, path, sizeBytes }: PlannedOverlay): Promise<void> {
  const size = sizeBytes === undefined ? [] : [String(sizeBytes)];
  const result = await execa(qemuImg, ['create', '-q', '-f', 'qcow2', '-F', baseFormat, '-b', resolve(base), path, ...size], { reject: false, all: true });
  if (result.exitCode !== 0) throw new VmspawnError(`Cannot create a qcow2 overlay over ${base}: ${result.all?.trim()}`);
}

async function writeSmbiosFile(file: PlannedSmbiosFile): Promise<void> {
  let text: string;
  if ('raw' in file.content) {
    text = file.content.raw;
  } else {
    const { credential } = file.content;
    const value = 'value' in credential ? credential.value : await readFile(credential.file);
    text = smbiosCredential(credential.name, value);
  }
  await writeFile(file.path, text, { mode: 0o600 });
}

/**
 * Concatenates initrds. The kernel unpacks concatenated cpio archives (compressed or not) one
 * after the other; each must start at a 4-byte boundary, so parts are padded with zeros.
 */
async function concatenateInitrds(parts: readonly string[], target: string): Promise<void> {
  const output = createWriteStream(target, { mode: 0o600 });
  let written = 0;
  for (const part of parts) {
    const padding = (4 - (written % 4)) % 4;
    if (padding > 0) output.write(Buffer.alloc(padding));
    written += padding;
    await pipeline(createReadStream(part), output, { end: false });
    written += (await stat(part)).size;
  }
  await new Promise<void>((resolveEnd, reject) => output.end((error?: Error | null) => (error ? reject(error) : resolveEnd())));
}

/** A copy-pasteable command line, one option with its value per line. */
export function formatCommandLine(binary: string, args: readonly string[]): string {
  const lines = [quoteArgument(binary)];
  for (const arg of args) {
    const quoted = quoteArgument(arg);
    if (arg.startsWith('-') || lines.length === 1) lines.push(quoted);
    else lines[lines.length - 1] += ` ${quoted}`;
  }
  return `${lines.join(' \\\n  ')}\n`;
}
