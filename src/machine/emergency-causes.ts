/**
 * Why a guest's systemd went to emergency or rescue mode, read from its console: the kernel command
 * line asked for it, the initrd timed out waiting for the root device, or switching from the initrd
 * to the root file system failed. Pure: the text in, one sentence (or nothing) out.
 */

/** Kernel command line words that make systemd start emergency or rescue mode (systemd(1), kernel-command-line(7)). */
const MODE_ARGUMENTS = /(?:^|\s)((?:rd\.)?systemd\.unit=(?:rescue|emergency)\.target|emergency|rescue|single|-b|-s|s|S|1)(?=\s|$)/;

// Colours and other terminal sequences systemd prints on the console.
const ESCAPES = /\x1b\[[0-9;:?]*[ -/]*[@-~]/g;

/**
 * One sentence on the cause, or undefined when neither the console nor the journal shows one.
 * `journalMessages` are the guest's error-priority journal messages: they hold whole lines where the
 * console shortens them to its width ("dev-d…disk/by-label/root").
 */
export function emergencyCause(consoleText: string, journalMessages: readonly string[] = []): string | undefined {
  const text = consoleText.replace(ESCAPES, '');
  const commandLine = /Kernel command line: ([^\n]*)/.exec(text)?.[1];
  const asked = commandLine === undefined ? undefined : MODE_ARGUMENTS.exec(commandLine)?.[1];
  if (asked) return `the kernel command line asks for it ("${asked}"); remove that from kernelArgs (or the image's command line)`;
  const device = timedOutDevice(journalMessages.join('\n')) ?? timedOutDevice(text);
  if (device) {
    return `the boot timed out waiting for device ${device} (a root= or fstab entry naming a disk that is not there? ` +
      'check root= in kernelArgs and the disks given to the machine)';
  }
  if (/Failed to start initrd-switch-root\.service|Failed to switch root/.test(text)) {
    return 'switching from the initrd to the root file system failed (initrd-switch-root.service): the root file system was not mounted at /sysroot or has no init';
  }
  return undefined;
}

/** systemd's "Timed out waiting for device UNIT - PATH.": the path, else what the line names. */
function timedOutDevice(text: string): string | undefined {
  const named = /Timed out waiting for device ([^\n]*?)\.?$/m.exec(text)?.[1]?.trim();
  if (!named) return undefined;
  return / - (\/\S+)$/.exec(named)?.[1] ?? named;
}
