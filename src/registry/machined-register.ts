/**
 * Registers a machine with systemd-machined (see machined-plan.ts) and unregisters it when it
 * ends. Never throws: the outcome is a line for the machine's log.
 */
import { existsSync } from 'node:fs';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import {
  busctlRegisterArgs,
  busctlUnregisterArgs,
  decideRegistration,
  MACHINED_VARLINK,
  type MachinedMachine,
  SYSTEM_BUS_SOCKET,
  SYSTEMD_BOOTED_DIR,
  varlinkctlRegisterArgs,
} from './machined-plan.js';

const run = promisify(execFile);
const CALL_TIMEOUT_MS = 5_000;

export interface MachinedRegistration {
  /** `registered (…)` or why not. */
  outcome: string;
  /** Unregisters, if it registered; never throws. */
  unregister(): Promise<void>;
}

export async function registerWithMachined(machine: MachinedMachine, setting?: boolean, env: NodeJS.ProcessEnv = process.env): Promise<MachinedRegistration> {
  const decision = decideRegistration({ setting, env, uid: process.getuid?.(), machinedRuns: machinedReachable() });
  const none = { unregister: async () => undefined };
  if (!decision.register) return { outcome: `not registered with systemd-machined: ${decision.reason}`, ...none };
  const [tool, args] = existsSync(MACHINED_VARLINK) ? ['varlinkctl', varlinkctlRegisterArgs(machine)] : ['busctl', busctlRegisterArgs(machine)];
  try {
    await run(tool, args, { timeout: CALL_TIMEOUT_MS });
  } catch (error) {
    const said = (error as { stderr?: string }).stderr?.trim() || (error as Error).message;
    return { outcome: `registering with systemd-machined (${tool}) failed: ${said}`, ...none };
  }
  return {
    outcome: `registered with systemd-machined by ${tool} (${decision.reason}): machinectl list shows "${machine.name}"`,
    // machined also forgets a machine whose leader died; unregistering says so at once.
    unregister: () => run('busctl', busctlUnregisterArgs(machine.name), { timeout: CALL_TIMEOUT_MS }).then(() => undefined, () => undefined),
  };
}

/** systemd is the init system and machined answers on its Varlink socket or over the system bus. */
export function machinedReachable(): boolean {
  return existsSync(SYSTEMD_BOOTED_DIR) && (existsSync(MACHINED_VARLINK) || existsSync(SYSTEM_BUS_SOCKET));
}
