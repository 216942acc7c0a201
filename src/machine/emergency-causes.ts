/**
 * Why a guest's systemd went to emergency or rescue mode, read from its console: the kernel command
 * line asked for it, the initrd timed out waiting for the root device, or switching from the initrd
 * to the root file system failed. Pure: the text in, one sentence (or nothing) out.
 */

/** Kernel command line words that make systemd start emergency or rescue mode (systemd(1), kernel-command-line(7)). */
const MODE_ARGUMENTS = /(?:^|\s)((?:rd\.)?systemd\.unit=(?:rescue|emergency)\.target|emergency|rescue|single|-b|-s|s|S|1)(?=\s|$)/;

/** One sentence on the cause, or undefined when the console does not show one. */
export function emergencyCause(consoleText: string): string | undefined {
  const commandLine = /Kernel command line: ([^\n]*)/.exec(consoleText)?.[1];
  const asked = commandLine === undefined ? undefined : MODE_ARGUMENTS.exec(commandLine)?.[1];
  if (asked) return `the kernel command line asks for it ("${asked}"); remove that from kernelArgs (or the image's command line)`;
  const device = /Timed out waiting for device [^\n]*? - ([^\n]+?)\.?$/m.exec(consoleText)?.[1]
    ?? /Timed out waiting for device ([^\n]+?)\.?$/m.exec(consoleText)?.[1];
  if (device) {
    return `the boot timed out waiting for device ${device.trim()} (a root= or fstab entry naming a disk that is not there? ` +
      'check root= in kernelArgs and the disks given to the machine)';
  }
  if (/Failed to start initrd-switch-root\.service|Failed to switch root/.test(consoleText)) {
    return 'switching from the initrd to the root file system failed (initrd-switch-root.service): the root file system was not mounted at /sysroot or has no init';
  }
  return undefined;
}
