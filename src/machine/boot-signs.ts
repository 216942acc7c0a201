/**
 * What the guest's own output says about a boot that is going wrong: lines of the serial console
 * and the firmware log, and notify messages, each read for a known sign (a kernel panic, emergency
 * mode, nothing to boot). The sign becomes the headline of the boot error; a fatal one ends the
 * boot at once instead of waiting out bootTimeout.
 */
import { activatedUnitOf, type NotifyMessage } from '../notify/notify-message.js';

export interface BootSign {
  kind: 'no-bootable-device' | 'kernel-panic' | 'emergency-mode';
  /** One sentence for the error's first line: what happened and where to look. */
  headline: string;
}

const EMERGENCY_TARGETS: Record<string, string> = { 'emergency.target': 'emergency', 'rescue.target': 'rescue' };

/** A sign in SeaBIOS's debug output (firmware.log). */
export function firmwareSign(text: string): BootSign | undefined {
  if (!/No bootable device/.test(text)) return undefined;
  const detail = /Boot failed: ([^\n]+)/.exec(text)?.[1]?.trim();
  return {
    kind: 'no-bootable-device',
    headline:
      `The firmware found nothing to boot (SeaBIOS: "No bootable device."${detail ? `, "${detail}"` : ''}): ` +
      'the disk image has no boot loader, or is not a disk image at all. Give a bootable image, or a kernel with linux.',
  };
}

/** A sign on the guest's serial console (console.log). */
export function consoleSign(text: string): BootSign | undefined {
  const uefi = uefiSign(text);
  if (uefi) return uefi;
  const panic = /Kernel panic - not syncing: ([^\n]*)/.exec(text);
  if (panic) return { kind: 'kernel-panic', headline: `The guest kernel panicked: ${panic[1]!.trim()}` };
  const mode = /You are in (emergency|rescue) mode/.exec(text)?.[1];
  if (mode) return emergency(mode, 'the console says "You are in ' + mode + ' mode"');
  return undefined;
}

/** A sign in a notify message (`X_SYSTEMD_UNIT_ACTIVE=emergency.target`). */
export function notifySign(message: NotifyMessage): BootSign | undefined {
  const unit = activatedUnitOf(message);
  const mode = unit === undefined ? undefined : EMERGENCY_TARGETS[unit];
  return mode ? emergency(mode, `it reported ${unit} active`) : undefined;
}

/**
 * OVMF's boot manager tried every boot option and none started: it says so on the console and then
 * either waits for a key ("No bootable option or device was found.") or, in builds that carry one
 * (Debian's), starts its built-in UEFI shell, which waits at its prompt forever.
 */
function uefiSign(text: string): BootSign | undefined {
  const nothing = /BdsDxe: No bootable option or device was found/.exec(text);
  const shell = /BdsDxe: starting Boot\d+ "EFI Internal Shell"/.exec(text);
  if (!nothing && !shell) return undefined;
  const failures = [...text.matchAll(/BdsDxe: failed to load (Boot\d+ "[^"]*") from [^\n]*?: ([^:\n]+)$/gm)].map(
    (match) => `${match[1]}: ${match[2]!.trim()}`,
  );
  const said = nothing ? '"No bootable option or device was found."' : 'no boot option started, so it fell back to its built-in shell';
  if (failures.some((failure) => /Access Denied/i.test(failure))) {
    return {
      kind: 'no-bootable-device',
      headline:
        `Secure Boot refused the image's boot loader (OVMF: ${failures.join('; ')}): the firmware enforces Secure Boot with its enrolled keys, ` +
        'and the boot loader is not signed by one of them. Boot with secureBoot: false (or \'auto\'), or sign the image for these keys.',
    };
  }
  return {
    kind: 'no-bootable-device',
    headline:
      `The UEFI firmware found nothing to boot (OVMF: ${said}${failures.length > 0 ? `; ${failures.join('; ')}` : ''}): ` +
      'the disk has no EFI system partition with a boot loader (EFI/BOOT/BOOTX64.EFI), or is not a disk image at all. ' +
      'Give a UEFI-bootable image, or a kernel with linux.',
  };
}

function emergency(mode: string, evidence: string): BootSign {
  return {
    kind: 'emergency-mode',
    headline:
      `The guest's systemd entered ${mode} mode (${evidence}): a unit the boot needs failed, or ${mode} mode was asked for on the ` +
      'kernel command line; no services (sshd included) start in it. The journal and console.log say which unit failed.',
  };
}
