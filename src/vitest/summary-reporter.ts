/**
 * The end-of-run summary (plugin option `runSummary`): a vitest reporter that prints one line per VM
 * test once the run ends: its state, boot time, how its machine ended and where its artifacts are.
 */
import type { Reporter, TestModule, Vitest } from 'vitest/node';
import { RECORD_META_KEY, type VmTestRecord } from './boot-progress-lines.js';

export class VmSummaryReporter implements Reporter {
  #vitest: Vitest | undefined;

  onInit(vitest: Vitest): void {
    this.#vitest = vitest;
  }

  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    const lines: string[] = [];
    for (const module of testModules) {
      for (const testCase of module.children.allTests()) {
        const record = testCase.meta()[RECORD_META_KEY];
        if (record) lines.push(formatSummaryLine(`${module.relativeModuleId} > ${testCase.fullName}`, testCase.result().state, record));
      }
    }
    if (lines.length === 0) return;
    const text = ['', `vitest-vmspawn: ${lines.length} VM test${lines.length === 1 ? '' : 's'}`, ...lines, ''].join('\n');
    if (this.#vitest) this.#vitest.logger.log(text);
    else process.stdout.write(`${text}\n`);
  }
}

/**
 * `  failed crash.test.ts > crashes: booted in 13.8 s, ended by shutdown (exit status 0), artifacts: …`;
 * a test on a shared machine names the machine instead of its end (it ends after the test):
 * `  passed checks.test.ts > reads: shared machine checks.test.ts (shared), booted in 13.8 s, artifacts deleted`.
 */
export function formatSummaryLine(name: string, state: string, record: VmTestRecord): string {
  const boot = record.bootMs !== undefined ? `booted in ${(record.bootMs / 1000).toFixed(1)} s` : 'boot time unknown';
  if (record.sharedMachine !== undefined) {
    const artifacts = record.artifactsDir ? `artifacts: ${record.artifactsDir}` : 'artifacts not kept for this test';
    return `  ${state.padEnd(6)} ${name}: shared machine ${record.sharedMachine}, ${boot}, ${artifacts}`;
  }
  const exit = record.endedBy ? `ended by ${record.endedBy}${record.exitStatus !== undefined ? ` (exit status ${record.exitStatus})` : ''}` : 'still running';
  const artifacts = record.artifactsDir ? `artifacts: ${record.artifactsDir}` : 'artifacts deleted';
  return `  ${state.padEnd(6)} ${name}: ${boot}, ${exit}, ${artifacts}`;
}
