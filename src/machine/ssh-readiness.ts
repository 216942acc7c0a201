/**
 * Readiness of a machine without vsock, where no READY=1 can arrive: once SSH answers, the system
 * manager is asked over SSH to wait until the boot finished (`systemctl is-system-running --wait`).
 * `running` and `degraded` (some unit failed) are ready, as READY=1 would have been; any other
 * state means the boot did not come up. Emergency mode and failed boots are still caught earlier
 * by the console signs the boot watch reads.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { VmspawnError } from '../errors.js';
import type { SshSession } from '../ssh/ssh-session.js';

/** The states `systemctl is-system-running` prints that count as a finished boot. */
const READY_STATES = new Set(['running', 'degraded']);

/** Pure: whether `systemctl is-system-running` output means ready; throws for a state that will not become ready. */
export function judgeSystemState(output: string, errorOutput = ''): 'ready' | 'waiting' {
  const state = output.trim().split('\n').pop()?.trim() ?? '';
  if (READY_STATES.has(state)) return 'ready';
  // --wait returns once the boot is over; "starting"/"initializing" only when the wait was cut short,
  // and "unknown" when systemctl could not get an answer from the system manager in time (a guest
  // still busy booting under TCG, seen in CI): asked again, until the boot timeout.
  if (state === 'starting' || state === 'initializing' || state === 'unknown') return 'waiting';
  if (state === '') throw new VmspawnError(`systemctl is-system-running --wait printed no state over SSH: ${errorOutput.trim() || 'no error output'}`);
  throw new VmspawnError(
    `The guest's system manager says the system is "${state}" (systemctl is-system-running), not running or degraded: the boot did not come up.`,
  );
}

/** Waits over SSH until the guest's boot finished. */
export async function waitForSystemRunning(ssh: SshSession, signal: AbortSignal): Promise<string> {
  for (;;) {
    signal.throwIfAborted();
    const result = await ssh.exec(['systemctl', 'is-system-running', '--wait'], { reject: false, signal });
    if (judgeSystemState(result.stdout, result.stderr) === 'ready') return result.stdout.trim();
    // Not a fixed wait for the guest: only a pause before asking again, so an answer that comes back at once cannot spin.
    await sleep(1_000, undefined, { signal });
  }
}
