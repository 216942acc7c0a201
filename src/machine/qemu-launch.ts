/**
 * Starts QEMU. Under kernel vsock the guest's CID is global to the host: when another virtual
 * machine holds it, QEMU exits while it realizes its devices, before its monitor answers; then it
 * is started again with another CID (src/machine/cid-retry.ts decides), a bounded number of times.
 */
import { randomInt } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { VmspawnError } from '../errors.js';
import type { MachineLayout } from '../plan/machine-layout.js';
import { MAX_GUEST_CID, MIN_GUEST_CID } from '../plan/vsock-cid.js';
import { spawnManaged, type ManagedProcess } from '../process/managed-process.js';
import { QmpClient } from '../process/qmp-client.js';
import { readTail } from '../util/read-tail.js';
import { decideCidRetry } from './cid-retry.js';
import { formatCommandLine } from './materialize-plan.js';

const QMP_CONNECT_TIMEOUT_MS = 10_000;

export interface QemuLaunchInput {
  binary: string;
  /** QEMU's arguments for a guest CID (the plan made again with it). */
  argsFor: (guestCid: number | undefined) => string[];
  /** The first CID to try under kernel vsock; undefined with another transport (QEMU starts once). */
  kernelVsockCid: number | undefined;
  /** Whether the user chose that CID (`vsockCid`), which is then never replaced. */
  cidChosenByUser: boolean;
  layout: MachineLayout;
  pidFile: string;
  log: (line: string) => void;
}

export interface LaunchedQemu {
  qemu: ManagedProcess;
  /** The connection to QEMU's monitor; rejects when QEMU exits first (and nobody awaits it yet). */
  qmp: Promise<QmpClient>;
  /** The guest CID QEMU runs with under kernel vsock. */
  guestCid: number | undefined;
}

export async function launchQemu(input: QemuLaunchInput): Promise<LaunchedQemu> {
  const { binary, layout, pidFile } = input;
  let cid = input.kernelVsockCid;
  for (let attempt = 1; ; attempt++) {
    const qemu = await spawnManaged('qemu', binary, input.argsFor(cid), { logFile: layout.qemuLog, pidFile });
    const qmp = QmpClient.connect(layout.qmpSocket, Date.now() + QMP_CONNECT_TIMEOUT_MS, () => !qemu.hasExited);
    qmp.catch(() => undefined);
    if (cid === undefined) return { qemu, qmp, guestCid: cid };
    // The monitor answers only once every device, vhost-vsock-pci with its CID too, is realized.
    if (await qmp.then(() => true, () => false)) {
      input.log(`vsock: guest CID ${cid}${attempt > 1 ? ` (start ${attempt})` : ''}`);
      return { qemu, qmp, guestCid: cid };
    }
    // Not answering in time while running is no CID clash; the boot's usual failure path reports it.
    if (!qemu.hasExited) return { qemu, qmp, guestCid: cid };
    await qemu.exited;
    const decision = decideCidRetry({
      qemuOutput: await readTail(layout.qemuLog, 5),
      cid,
      attempt,
      chosenByUser: input.cidChosenByUser,
      randomCid: randomInt(MIN_GUEST_CID, MAX_GUEST_CID + 1),
    });
    if (decision.action === 'not-a-cid-clash') return { qemu, qmp, guestCid: cid };
    if (decision.action === 'fail') throw new VmspawnError(decision.message);
    input.log(decision.reason);
    cid = decision.cid;
    await writeFile(layout.qemuCommandLine, formatCommandLine(binary, input.argsFor(cid)));
  }
}
