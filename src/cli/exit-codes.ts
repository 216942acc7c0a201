/** The exit codes, as `--help` documents them. */
export const EXIT_CODES_HELP = `Exit codes:
  0  success
  1  the machine, image or command checked or run failed
  2  usage error (an unknown flag or a bad value): nothing was started
  N  run: the guest's exit status (EXIT_STATUS, e.g. after "systemctl exit N")`;
