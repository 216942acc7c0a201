/** The `--help` text of `run`, generated from the flag table so that it lists every flag. */
import { EXIT_CODES_HELP } from './exit-codes.js';
import { RUN_FLAGS } from './run-flags.js';

export function runUsage(): string {
  const spelled = (flag: (typeof RUN_FLAGS)[number]) =>
    `${flag.short ? `-${flag.short} ` : '   '}--${flag.name}${flag.takesValue ? `=${flag.valueName ?? 'VALUE'}` : ''}`;
  const supported = RUN_FLAGS.filter((flag) => !(typeof flag.maps === 'object' && 'unsupported' in flag.maps));
  const unsupported = RUN_FLAGS.filter((flag) => typeof flag.maps === 'object' && 'unsupported' in flag.maps);
  const width = Math.max(...supported.map((flag) => spelled(flag).length));
  return [
    'Usage: vitest-vmspawn run [OPTIONS] [--] [KERNEL ARGS…]',
    '',
    'Boots a machine as systemd-vmspawn does, with its flags, and exits with the guest\'s exit status.',
    'Without --image, --directory or --linux it boots the project\'s default image (built on first use).',
    'Arguments after the options (or after --) are extra kernel command line arguments.',
    'Ctrl-C or SIGTERM shuts the machine down cleanly; with --console=interactive, press Ctrl-] three',
    'times within a second to do so.',
    '',
    'Options:',
    ...supported.map((flag) => `  ${spelled(flag).padEnd(width)}  ${flag.help}${flag.extension ? ' (not in vmspawn)' : ''}`),
    '',
    `Not supported (they fail, saying why): ${unsupported.map((flag) => `--${flag.name}`).join(', ')}.`,
    '',
    EXIT_CODES_HELP,
    '',
  ].join('\n');
}
