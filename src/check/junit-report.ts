/**
 * The check report as JUnit XML (`check --junit FILE`), for CI systems that show test results:
 * one testsuite, one testcase per check (boot, system state, failed units, error lines, power-off),
 * a `<failure>` with the check's details when it failed, `<skipped>` when it could not run.
 * The shape is the common one of Ant/Jenkins/GitLab/GitHub reporters (testsuites > testsuite > testcase).
 */
import type { CheckReport, CheckResult } from './check-report.js';

/** `classname` of every testcase. */
export const JUNIT_CLASSNAME = 'vitest-vmspawn.check';

export function toJUnitXml(report: CheckReport): string {
  const failures = report.checks.filter((check) => check.status === 'failed').length;
  const skipped = report.checks.filter((check) => check.status === 'skipped').length;
  const time = secondsAttr(report.durationMs);
  const suite = `check ${report.machine.name} (${report.machine.source.kind}: ${report.machine.source.path})`;
  const counts = `tests="${report.checks.length}" failures="${failures}" errors="0" skipped="${skipped}" time="${time}"`;
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    // Jenkins' schema allows no `skipped` count on testsuites.
    `<testsuites name="vitest-vmspawn check" tests="${report.checks.length}" failures="${failures}" errors="0" time="${time}">`,
    `  <testsuite name="${escapeXml(suite)}" ${counts} timestamp="${escapeXml(report.startedAt.replace(/\.\d+Z$/, ''))}" hostname="${escapeXml(report.machine.name)}">`,
    '    <properties>',
    `      <property name="verdict" value="${report.verdict}"/>`,
    `      <property name="artifactsDir" value="${escapeXml(report.artifactsDir)}"/>`,
    `      <property name="accelerator" value="${escapeXml(report.machine.accelerator ?? 'none')}"/>`,
    '    </properties>',
    ...report.checks.map((check) => testcase(check, report)),
    `    <system-out>${escapeXml(`verdict: ${report.verdict}\nartifacts: ${report.artifactsDir}\n`, 'text')}</system-out>`,
    '  </testsuite>',
    '</testsuites>',
    '',
  ];
  return lines.join('\n');
}

function testcase(check: CheckResult, report: CheckReport): string {
  const time = check.name === 'boot' ? bootSeconds(report) : check.name === 'power-off' && report.powerOff ? secondsAttr(report.powerOff.durationMs) : '0';
  const open = `    <testcase classname="${JUNIT_CLASSNAME}" name="${check.name}" time="${time}"`;
  if (check.status === 'passed') return `${open}/>`;
  if (check.status === 'skipped') return `${open}>\n      <skipped message="${escapeXml(check.summary)}"/>\n    </testcase>`;
  const body = [check.summary, ...check.details].join('\n');
  return `${open}>\n      <failure message="${escapeXml(check.summary)}" type="${check.name}">${escapeXml(body, 'text')}</failure>\n    </testcase>`;
}

function bootSeconds(report: CheckReport): string {
  const last = report.boot.stages.at(-1);
  return last ? secondsAttr(last.afterMs) : '0';
}

function secondsAttr(ms: number): string {
  return (ms / 1000).toFixed(3);
}

/**
 * Text as an XML attribute value or character data: the markup characters escaped, characters
 * XML 1.0 cannot hold (most C0 controls, lone surrogates, U+FFFE/U+FFFF) replaced by U+FFFD.
 */
export function escapeXml(text: string, where: 'attribute' | 'text' = 'attribute'): string {
  const escaped = text
    .replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD')
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&apos;')
    .replaceAll('\r', '&#13;');
  // An attribute value's line breaks and tabs become spaces unless written as references.
  return where === 'attribute' ? escaped.replaceAll('\n', '&#10;').replaceAll('\t', '&#9;') : escaped;
}
