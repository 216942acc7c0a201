/**
 * Reading `systemd-analyze time`: how long the firmware, loader, kernel, initrd and userspace took,
 * and when the default target was reached. The command fails with "Bootup is not yet finished"
 * while the boot is still going on; that is the caller's to retry.
 */

/** The command whose output {@link parseSystemdAnalyzeTime} reads. */
export const SYSTEMD_ANALYZE_TIME_COMMAND = 'systemd-analyze time --no-pager';

/** The stages `systemd-analyze time` names, in boot order. */
export const ANALYZE_STAGES = ['firmware', 'loader', 'kernel', 'initrd', 'userspace'] as const;
export type AnalyzeStage = (typeof ANALYZE_STAGES)[number];

export interface SystemdAnalyzeTime {
  /** Milliseconds per stage, for the stages the guest reported (no firmware/loader on a direct kernel boot, no initrd without one). */
  stages: Partial<Record<AnalyzeStage, number>>;
  /** The sum systemd printed after `=`, in milliseconds. */
  totalMs: number;
  /** The default target and when userspace reached it ("multi-user.target reached after 4.1s in userspace"). */
  target: { unit: string; afterMs: number } | undefined;
}

const UNIT_MS: Record<string, number> = { us: 0.001, 'µs': 0.001, ms: 1, s: 1000, sec: 1000, min: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * A systemd time span as printed by `format_timespan` ("1min 2.345s", "812ms", "1h 2min 3.004s",
 * "950us") in milliseconds; undefined when it is not one.
 */
export function parseTimespan(text: string): number | undefined {
  const parts = text.trim().split(/\s+/);
  if (parts.length === 0 || parts[0] === '') return undefined;
  let total = 0;
  for (const part of parts) {
    const match = /^(\d+(?:\.\d+)?)(us|µs|ms|sec|s|min|h|d)$/.exec(part);
    if (!match) return undefined;
    total += Number(match[1]) * UNIT_MS[match[2]!]!;
  }
  return Math.round(total * 1000) / 1000;
}

/**
 * The stages and total of `systemd-analyze time`'s output, e.g.
 * `Startup finished in 1.203s (kernel) + 2.1s (initrd) + 10.4s (userspace) = 13.7s`; undefined when
 * the output has no such line (the boot is not finished, or the output is something else).
 */
export function parseSystemdAnalyzeTime(stdout: string): SystemdAnalyzeTime | undefined {
  const line = /Startup finished in (.+?) = ([^\n]+)/.exec(stdout);
  if (!line) return undefined;
  const totalMs = parseTimespan(line[2]!);
  if (totalMs === undefined) return undefined;
  const stages: Partial<Record<AnalyzeStage, number>> = {};
  for (const part of line[1]!.split(' + ')) {
    const stage = /^(.+?) \(([a-z]+)\)$/.exec(part.trim());
    const ms = stage ? parseTimespan(stage[1]!) : undefined;
    if (!stage || ms === undefined || !(ANALYZE_STAGES as readonly string[]).includes(stage[2]!)) return undefined;
    stages[stage[2] as AnalyzeStage] = ms;
  }
  const reached = /^(\S+) reached after (.+?) in userspace\.?$/m.exec(stdout);
  const afterMs = reached ? parseTimespan(reached[2]!) : undefined;
  return { stages, totalMs, target: reached && afterMs !== undefined ? { unit: reached[1]!, afterMs } : undefined };
}
