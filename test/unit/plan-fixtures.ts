/**
 * What several unit test files plan with: a machine layout, SSH keys, a plan with the planning
 * inputs' usual values, and the problems an option set is rejected with.
 */
import { expect } from 'vitest';
import { InvalidOptionsError } from '../../src/errors.js';
import { resolveMachineOptions } from '../../src/options/resolve-options.js';
import { machineLayout } from '../../src/plan/machine-layout.js';
import { planMachine, type MachinePlanInput } from '../../src/plan/plan-machine.js';

export const layout = machineLayout('/run/vm-1', '/art/test-1');

export const ssh = {
  clientPublicKey: 'ssh-ed25519 AAAAclient test',
  hostPrivateKey: '-----BEGIN OPENSSH PRIVATE KEY-----\nxyz\n',
  hostPublicKey: 'ssh-ed25519 AAAAhost host key',
};

/** The plan of a direct kernel boot with user-space vsock, under TCG, unless `overrides` say otherwise. */
export function planWith(options: Record<string, unknown>, overrides: Partial<MachinePlanInput> = {}) {
  return planMachine({
    options: resolveMachineOptions({ linux: '/img/vmlinuz', uuid: '11111111-2222-3333-4444-555555555555', ...options }),
    accelerator: 'tcg',
    layout,
    ports: { notify: 40000, journal: 40001 },
    ssh,
    imageFormat: undefined,
    kernelKind: 'kernel',
    firmware: undefined,
    vsock: 'user-space',
    binaries: { vhostDeviceVsock: '/usr/bin/vhost-device-vsock' },
    ...overrides,
  });
}

/** The value following `flag` each time it occurs. */
export function valuesOf(args: string[], flag: string): string[] {
  return args.flatMap((arg, index) => (arg === flag ? [args[index + 1] ?? ''] : []));
}

/** "option: message" for each problem the options are rejected with; fails when they are accepted. */
export function problemsOf(options: unknown): string[] {
  try {
    resolveMachineOptions(options);
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidOptionsError);
    return (error as InvalidOptionsError).problems.map((problem) => `${problem.option}: ${problem.message}`);
  }
  throw new Error('expected the options to be rejected');
}
