/**
 * vitest-vmspawn: `test.vm(name, options?, fn)` boots a real OS image in QEMU for each test.
 *
 * ```ts
 * import { expect } from 'vitest';
 * import { test } from 'vitest-vmspawn';
 *
 * test.vm('logs reach the host', async ({ vm }) => {
 *   await vm.exec(['logger', '-t', 'mytest', 'hello']);
 *   expect((await vm.waitForJournal({ identifier: 'mytest' })).message).toBe('hello');
 * });
 * ```
 */
export { test, withVm, type TestWithVm, type VmContext, type VmTestAPI, type VmTestOptions } from './vitest/test-api.js';
export { useVm, type SharedVmContext, type SharedVmOptions, type SharedVmTestAPI, type SharingOptions } from './vitest/shared-vm/use-vm.js';
export { SharedMachineEndedError } from './vitest/shared-vm/shared-lifetime.js';
export type { VmArtifactsArtifact } from './vitest/vm-fixture.js';
export type { PreserveArtifacts, VmspawnConfig } from './vitest/config.js';
export * from './machine-api.js';
export { vmspawnMatchers, type JournalSource, type NoEntriesOptions, type VmspawnMatchers } from './matchers/index.js';
