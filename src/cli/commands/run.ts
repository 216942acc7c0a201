import type { CliCommand } from '../command.js';

/** `vitest-vmspawn run`: boots a machine like systemd-vmspawn. */
export const command: CliCommand = {
  name: 'run',
  summary: 'Boot an image or a kernel like systemd-vmspawn; exit with the guest\'s exit status',
  usage: 'Usage: vitest-vmspawn run [OPTIONS] [-- KERNEL ARGS]\n',
  async run(_argv, io) {
    io.stderr.write('vitest-vmspawn run: not implemented yet\n');
    return 1;
  },
};
