import { describe, expect, test, vi } from 'vitest';
import { decideAccelerator, probeFirmware } from '../../src/host/accelerator.js';
import { decideVsock } from '../../src/host/vsock-choice.js';
import { quoteArgument, toShellCommand } from '../../src/ssh/shell-quote.js';
import { formatCommandLine } from '../../src/machine/materialize-plan.js';

describe('accelerator choice', () => {
  const working = vi.fn(async () => ({ usable: true, detail: 'probe guest ran in 40 ms' }));
  const broken = vi.fn(async () => ({ usable: false, detail: 'a probe guest under KVM failed (SIGABRT)' }));

  test("'auto' follows the probe and says why", async () => {
    await expect(decideAccelerator('auto', undefined, working)).resolves.toEqual({ accelerator: 'kvm', reason: 'accelerator: KVM (probe guest ran in 40 ms)' });
    const fallback = await decideAccelerator('auto', undefined, broken);
    expect(fallback.accelerator).toBe('tcg');
    expect(fallback.reason).toMatch(/TCG .*because KVM is not usable here: a probe guest under KVM failed/);
  });

  test('an explicit setting or VMSPAWN_KVM skips the probe', async () => {
    const probe = vi.fn(async () => ({ usable: true, detail: 'unused' }));
    expect((await decideAccelerator(false, undefined, probe)).accelerator).toBe('tcg');
    expect((await decideAccelerator(true, undefined, probe)).accelerator).toBe('kvm');
    expect(await decideAccelerator('auto', '0', probe)).toEqual({ accelerator: 'tcg', reason: 'accelerator: TCG (software emulation), from VMSPAWN_KVM=0' });
    expect(probe).not.toHaveBeenCalled();
  });

  test('the probe firmware exits through isa-debug-exit from the reset vector', () => {
    const firmware = probeFirmware();
    expect(firmware.length).toBe(65536);
    expect([...firmware.subarray(0xfff0, 0xfff7)]).toEqual([0xb0, 0x2a, 0xe6, 0xf4, 0xf4, 0xeb, 0xfd]);
  });
});

describe('vsock choice', () => {
  test('user-space, saying whether kernel vsock was there', () => {
    expect(decideVsock('auto', { kernelVsock: false, userSpaceVsock: true })).toEqual({ kind: 'user-space', reason: expect.stringContaining('no kernel vsock') });
    expect(decideVsock('auto', { kernelVsock: true, userSpaceVsock: true }).reason).toContain('/dev/vhost-vsock exists');
    expect(decideVsock('user-space', { kernelVsock: true, userSpaceVsock: true }).reason).toContain('as configured');
  });
});

describe('shell quoting', () => {
  test('leaves plain words alone and quotes the rest', () => {
    expect(toShellCommand(['echo', 'a b', "it's", '', '$HOME', '--x=1'])).toBe(`echo 'a b' 'it'\\''s' '' '$HOME' --x=1`);
    expect(toShellCommand('echo $HOME')).toBe('echo $HOME');
    expect(quoteArgument('/usr/bin/env')).toBe('/usr/bin/env');
  });

  test('the QEMU command line artifact is copy-pasteable', () => {
    expect(formatCommandLine('qemu-system-x86_64', ['-m', '1G', '-append', 'console=ttyS0 quiet', '-no-reboot'])).toBe(
      "qemu-system-x86_64 \\\n  -m 1G \\\n  -append 'console=ttyS0 quiet' \\\n  -no-reboot\n",
    );
  });
});
