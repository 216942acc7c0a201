/**
 * The few lines `check` prints for people (and writes as summary.txt): the verdict first, then each
 * check, what failed with its details (a failed unit's last journal lines), the boot timings, the
 * artifacts directory.
 */
import { seconds } from './build-report.js';
import type { CheckReport } from './check-report.js';

const MARK = { passed: '✓', failed: '✗', skipped: '-' } as const;

export function formatCheckSummary(report: CheckReport): string {
  const failed = report.checks.filter((check) => check.status === 'failed');
  const source = report.machine.source.kind === 'default-image' ? 'the default image' : `${report.machine.source.kind} ${report.machine.source.path}`;
  const verdict =
    report.verdict === 'healthy'
      ? `HEALTHY: ${source} booted, ran and powered off cleanly.`
      : `DEGRADED: ${failed.map((check) => check.summary).join('; ')} (${source}).`;
  const lines = [verdict];
  for (const check of report.checks) {
    lines.push(`  ${MARK[check.status]} ${check.name}: ${check.summary}`);
    if (check.status === 'failed') lines.push(...check.details.map((line) => `      ${line}`));
  }
  lines.push(`Boot: ${bootTimings(report)}`);
  const analyze = analyzeTimings(report);
  if (analyze) lines.push(`systemd-analyze: ${analyze}`);
  lines.push(`Artifacts: ${report.artifactsDir}`);
  return `${lines.join('\n')}\n`;
}

/** `kernel started 0.3 s · basic.target reached 9.1 s · ready (READY=1) 14.2 s · SSH answered 15.0 s` */
function bootTimings(report: CheckReport): string {
  const stages = report.boot.stages.filter((stage) => stage.stage !== 'qemu');
  return stages.length > 0 ? stages.map((stage) => `${stage.label} ${seconds(stage.afterMs)}`).join(' · ') : 'no stage reached';
}

/** `kernel 1.2 s + initrd 2.0 s + userspace 9.8 s = 13.0 s; multi-user.target after 9.7 s`, or why there is none. */
function analyzeTimings(report: CheckReport): string | undefined {
  const analyze = report.boot.systemdAnalyze;
  if (!analyze.available) return report.boot.ready ? `unavailable (${analyze.reason})` : undefined;
  const stages = Object.entries(analyze.stagesMs).map(([stage, ms]) => `${stage} ${seconds(ms)}`);
  const target = analyze.target ? `; ${analyze.target.unit} after ${seconds(analyze.target.afterMs)} in userspace` : '';
  return `${stages.join(' + ')} = ${seconds(analyze.totalMs)}${target}`;
}
