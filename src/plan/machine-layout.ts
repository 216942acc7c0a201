/**
 * Where each file of a machine lives. Sockets, credentials and the disk overlay go to a private
 * (0700) runtime directory that is deleted with the machine; logs, journal and summary go to the
 * artifacts directory, which outlives it.
 */
import { join } from 'node:path';

export interface MachineLayout {
  /** Private directory for sockets, credential files and the disk overlay. */
  runtimeDir: string;
  /** vhost-user control socket QEMU connects to (user-space vsock). */
  vhostUserSocket: string;
  /** Base path of the user-space vsock sockets: host→guest connects here, guest→host port P arrives at `${vsockSocket}_P`. */
  vsockSocket: string;
  /** QMP control socket of QEMU. */
  qmpSocket: string;
  /** Directory holding one 0600 file per SMBIOS type 11 string. */
  credentialsDir: string;
  /** Throwaway qcow2 overlay over the disk image. */
  overlay: string;
  /** Concatenation of several initrds. */
  mergedInitrd: string;
  /** The machine's own copy of the UEFI firmware's variable store. */
  nvram: string;
  /** swtpm's control socket QEMU connects to. */
  tpmSocket: string;
  /** The TPM state when it is transient (no `tpmState` directory). */
  transientTpmState: string;
  /** Directory of the files below. */
  artifactsDir: string;
  consoleLog: string;
  /** SeaBIOS's debug output (I/O port 0x402): what the firmware tried to boot. */
  firmwareLog: string;
  qemuLog: string;
  qemuCommandLine: string;
  notifyLog: string;
  journalExport: string;
  journalNative: string;
  vsockLog: string;
  /** The socat bridges of kernel vsock. */
  socatLog: string;
  tpmLog: string;
  machineLog: string;
  summary: string;
}

export const ARTIFACT_FILES = {
  consoleLog: 'console.log',
  firmwareLog: 'firmware.log',
  qemuLog: 'qemu.log',
  qemuCommandLine: 'qemu-cmdline.txt',
  notifyLog: 'notify.log',
  journalExport: 'journal.export',
  journalNative: 'journal.journal',
  vsockLog: 'vhost-device-vsock.log',
  socatLog: 'vsock-socat.log',
  tpmLog: 'swtpm.log',
  machineLog: 'vmspawn.log',
  summary: 'summary.json',
} as const;

export function machineLayout(runtimeDir: string, artifactsDir = join(runtimeDir, 'artifacts')): MachineLayout {
  const artifacts = Object.fromEntries(
    Object.entries(ARTIFACT_FILES).map(([key, file]) => [key, join(artifactsDir, file)]),
  ) as Record<keyof typeof ARTIFACT_FILES, string>;
  return {
    runtimeDir,
    vhostUserSocket: join(runtimeDir, 'vhost-user-vsock.sock'),
    vsockSocket: join(runtimeDir, 'vsock'),
    qmpSocket: join(runtimeDir, 'qmp.sock'),
    credentialsDir: join(runtimeDir, 'credentials'),
    overlay: join(runtimeDir, 'root-overlay.qcow2'),
    mergedInitrd: join(runtimeDir, 'initrd.img'),
    nvram: join(runtimeDir, 'efi-vars.fd'),
    tpmSocket: join(runtimeDir, 'swtpm.sock'),
    transientTpmState: join(runtimeDir, 'tpm-state'),
    artifactsDir,
    ...artifacts,
  };
}

/** Artifacts named per instance (one log per shared directory); cleared with ARTIFACT_FILES before a boot. */
export const ARTIFACT_FILE_PATTERNS: readonly RegExp[] = [/^virtiofsd-.+\.log$/];

/** The log of the virtiofsd serving the share tagged `tag`. */
export function virtiofsdLogFile(layout: Pick<MachineLayout, 'artifactsDir'>, tag: string): string {
  return join(layout.artifactsDir, `virtiofsd-${tag}.log`);
}
