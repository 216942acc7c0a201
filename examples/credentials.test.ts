import { expect } from 'vitest';
import { test } from 'vitest-vmspawn';

test.vm(
  'credentials configure the guest at boot',
  {
    setCredential: {
      // Any credential is readable by the system manager and the units that import it …
      'greeter.name': 'world',
      // … and some configure systemd itself: here a unit that is not in the image.
      'systemd.extra-unit.greeter.service': [
        '[Service]',
        'Type=oneshot',
        'ImportCredential=greeter.*',
        'ExecStart=/bin/sh -c \'echo "hello, $(cat "$CREDENTIALS_DIRECTORY/greeter.name")"\'',
      ].join('\n'),
    },
  },
  async ({ vm }) => {
    expect((await vm.exec('cat /run/credentials/@system/greeter.name')).stdout).toBe('world');
    await vm.exec('systemctl start greeter.service');
    const greeting = await vm.waitForJournal({ unit: 'greeter.service', message: /^hello/ });
    expect(greeting.message).toBe('hello, world');
  },
);
