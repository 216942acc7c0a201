/**
 * A helper daemon QEMU needs before it starts (vhost-device-vsock, swtpm, virtiofsd, …): what to run,
 * where it logs, and the socket whose appearance says it is ready for QEMU to connect. The runtime
 * starts them in plan order, before QEMU, and stops them after QEMU has exited.
 */
import type { VirtiofsdBinary } from './virtiofs-plan.js';

export interface PlannedHelper {
  /** Short name used in logs, errors and `summary.json` (unique within a machine), e.g. `virtiofsd-root`. */
  name: string;
  binary: string;
  args: string[];
  /** The helper's stdout and stderr go here (an artifact). */
  logFile: string;
  /** The helper is ready once this path exists. */
  readyPath: string;
  /**
   * A command that must succeed before the helper starts, e.g. `swtpm_setup` initialising the TPM
   * state; it runs after the plan's directories exist and its output goes to `logFile` too.
   */
  setup?: { binary: string; args: string[] };
}

/** The host programs a plan may need, resolved to paths before planning. */
export interface HelperBinaries {
  /** For user-space vsock. */
  vhostDeviceVsock?: string;
  /** swtpm and swtpm_setup, when the machine gets a TPM. */
  tpm?: { swtpm: string; swtpmSetup: string };
  /** For `directory`, `bind` and `bindReadOnly`. */
  virtiofsd?: VirtiofsdBinary;
  /** For overlay and read-only virtiofs shares (a private mount namespace), and every share without root. */
  unshare?: string;
  /** Without root: each virtiofsd runs as root of a user namespace (see planVirtiofs). */
  virtiofsInUserNamespace?: boolean;
}
