/** What the waits need of a running machine; the machine handle provides it. */
import type { MachineJournal } from '../../journal/machine-journal.js';
import type { NotifyEvents } from '../../notify/notify-events.js';
import type { ExecOptions, ExecResult } from '../../ssh/exec-types.js';
import type { MachineExit } from '../summary.js';

export interface WaitContext {
  /** Runs a command in the guest (the handle's `exec`). */
  exec(command: string | readonly string[], options?: ExecOptions): Promise<ExecResult>;
  /** Whether commands can run at all (SSH is on). */
  hasSsh: boolean;
  notify: NotifyEvents;
  journal: MachineJournal;
  /** Whether the guest's journal is forwarded to {@link journal}. */
  forwardJournal: boolean;
  /** The file QEMU writes the serial console to. */
  consoleLog: string;
  /** Resolves when QEMU has exited. */
  ended: Promise<MachineExit>;
}
