/**
 * The engine, usable without vitest: `import { Machine } from 'vitest-vmspawn/machine'`.
 */
export { Machine, startMachine, type StartOptions } from './machine/machine.js';
export { StartedMachine, type MachineState, type ShutdownOptions } from './machine/started-machine.js';
export type { MachineExit, MachineSummary } from './machine/summary.js';
export type { BootStage, BootStageName } from './machine/boot-progress.js';
export type { ExtraDrive, ImageFormat, KvmSetting, MachineOptions, NetworkSetting, PortForward, SecureBootSetting, VsockSetting } from './options/machine-options.js';
export { listFirmware, type FirmwareDescriptor } from './host/firmware-descriptors.js';
export type { ForwardedPort } from './process/port-forwards.js';
export type { ExecOptions, ExecResult } from './ssh/exec-types.js';
export { GuestFileError, type WriteFileOptions } from './ssh/sftp-transfer.js';
export type { ForwardPortOptions, GuestPortForward } from './ssh/ssh-port-forward.js';
export type { ConnectOptions } from './transport/vsock-transport.js';
export type { JournalEntry, JournalMatch, PriorityName } from './journal/journal-entry.js';
export type { MachineJournal } from './journal/machine-journal.js';
export type { JournalSuppression } from './journal/suppressed-messages.js';
export type { NotifyEvents } from './notify/notify-events.js';
export type { NotifyMessage } from './notify/notify-message.js';
export type { QmpClient, QmpEvent } from './process/qmp-client.js';
export type { WaitOptions } from './util/event-log.js';
export type { ConsoleWaitOptions } from './machine/waits/console-wait.js';
export type { ListeningSocket } from './machine/waits/proc-net-tcp.js';
export type { UnitState, UnitStatus } from './machine/waits/unit-state.js';
export type { UnitWaitOptions } from './machine/waits/unit-wait.js';
export type { GuestWaitOptions } from './machine/waits/wait-options.js';
export { MachineEndedWhileWaitingError, MachineWaitTimeoutError, UnitFailedError } from './machine/waits/wait-errors.js';
export { defaultImage, type BootSource, type DefaultImage, type DefaultImageManifest, type DefaultImageOptions } from './image/default-image.js';
export { uefiImage, type UefiImage, type UefiImageManifest, type UefiImageOptions } from './image/uefi-image.js';
export {
  BootError,
  ExecAbortedError,
  ExecConnectionLostError,
  ExecError,
  InvalidOptionsError,
  MachineEndedError,
  MachineStateError,
  MissingToolError,
  VmspawnError,
  WaitTimeoutError,
  type OptionProblem,
} from './errors.js';
