/**
 * The options of one virtual machine. Names follow systemd-vmspawn's command line
 * (`--linux`, `--initrd`, `--image`, `--cpus`, `--ram`, `--kvm`, `--set-credential`, …)
 * so that its manual page reads as a reference for them too.
 */

/** How to accelerate the guest CPU. */
export type KvmSetting = boolean | 'auto';

/** Which vsock implementation connects host and guest. */
export type VsockSetting = 'auto' | 'user-space';

/** Format of a disk image. */
export type ImageFormat = 'auto' | 'raw' | 'qcow2';

export interface MachineOptions {
  /**
   * Kernel for direct kernel boot (vmspawn `--linux`). Give `linux`, `image`, or both
   * (a disk image booted with a kernel from the host).
   */
  linux?: string;
  /**
   * Initrd(s) for direct kernel boot (vmspawn `--initrd`). Several are concatenated in order into
   * one initramfs, as the kernel unpacks concatenated cpio archives one after the other.
   * Only valid together with `linux`.
   * @default []
   */
  initrd?: string | string[];
  /**
   * Disk image (raw or qcow2) attached as the first virtio disk (`/dev/vda` in the guest). The file is
   * never written: the guest writes to a throwaway qcow2 overlay that is deleted with the machine.
   */
  image?: string;
  /**
   * Directory holding an OS tree to boot as the guest's root file system, shared over virtiofs
   * (vmspawn `--directory`): one virtiofsd serves it, the kernel mounts it with
   * `root=root rootfstype=virtiofs rw`. It must contain `/usr/lib/os-release` or `/etc/os-release`.
   * The kernel is `linux` when given; otherwise, as in vmspawn, the tree's default Boot Loader
   * Specification entry (Type #1 `.conf` files in `/boot/loader/entries` and `/efi/loader/entries`,
   * newest version first); a unified kernel image (Type #2) needs UEFI firmware and is refused for
   * now. Not together with `image`. Needs root on the host (virtiofsd, a private mount namespace).
   */
  directory?: string;
  /**
   * Boot `directory` without ever writing to it (as systemd-nspawn's `--ephemeral`): the guest writes to a
   * throwaway overlay layer in the machine's runtime directory, deleted with the machine. `false`
   * shares the tree writable, so the guest's changes stay in it. Only with `directory`: an `image`
   * is always booted through a throwaway overlay.
   * @default true
   */
  ephemeral?: boolean;
  /**
   * Host directories shared with the guest over virtiofs, writable (vmspawn `--bind`): `SRC[:DST]`,
   * each mounted at `DST` in the guest (at `SRC` when `DST` is left out). A relative `SRC` is resolved
   * against the current directory (and then needs an absolute `DST`); `\:` writes a colon in either
   * path. The guest mounts them through the `fstab.extra` credential (systemd ≥ 254) before
   * `local-fs.target`, merged with your own `fstab.extra` lines. Writes in the guest reach the host.
   * @default []
   */
  bind?: string[];
  /**
   * Like `bind`, but read-only (vmspawn `--bind-ro`), enforced on the host: virtiofsd serves a
   * read-only bind mount, so a write fails even after `mount -o remount,rw` in the guest.
   * @default []
   */
  bindReadOnly?: string[];
  /**
   * Format of `image` (only with `image`). A declared format must match the file: `'raw'` for a file
   * that starts with the qcow2 magic is an error, as is `'qcow2'` for one that does not.
   * @default 'auto' (qcow2 when the file starts with the qcow2 magic, raw otherwise)
   */
  imageFormat?: ImageFormat;
  /**
   * Number of virtual CPUs (vmspawn `--cpus`). Under TCG two machines with one CPU each boot as fast
   * side by side as one does alone on two host cores, so one CPU serves parallel test runs best.
   * @default 1 (as systemd-vmspawn)
   */
  cpus?: number;
  /**
   * Guest memory: bytes, or a string with K, M, G or T suffix to the base of 1024 (vmspawn `--ram`).
   * At least 64M, and at most what the host has (its memory and swap), checked before the machine starts.
   * @default '1G'
   */
  ram?: string | number;
  /**
   * Use KVM (`true`), never use it (`false`), or use it when a probe shows it really works (`'auto'`).
   * The environment variable `VMSPAWN_KVM=0|1` overrides `'auto'`.
   * @default 'auto'
   */
  kvm?: KvmSetting;
  /**
   * vsock implementation. `'user-space'` runs one `vhost-device-vsock` per machine; it works with and
   * without KVM. `'auto'` currently always picks it and says so in the machine log.
   * @default 'auto'
   */
  vsock?: VsockSetting;
  /**
   * Extra kernel command line arguments, appended after the ones the engine needs (direct kernel boot only).
   * @default []
   */
  kernelArgs?: string[];
  /**
   * Credentials passed to the guest's system manager via SMBIOS type 11 (vmspawn `--set-credential`),
   * name → value. The values travel through 0600 files, never on the QEMU command line.
   * `tmpfiles.extra` and `ssh.ephemeral-authorized_keys-all` are merged with the engine's own lines.
   * SMBIOS is small: QEMU's SMBIOS tables hold 65535 bytes in all, so credentials and `smbios11` strings
   * together get about 61 KiB, values travel base64-encoded, and one value can be at most about 45 KiB.
   * Larger values are rejected before the machine starts; copy large data in with `vm.exec(…, { input })`.
   * @default {}
   */
  setCredential?: Record<string, string | Uint8Array>;
  /**
   * Credentials read from files on the host (vmspawn `--load-credential`), name → path. The files share
   * the SMBIOS limit of `setCredential` (one file of at most about 45 KiB); they are measured at start.
   * @default {}
   */
  loadCredential?: Record<string, string>;
  /**
   * Raw SMBIOS type 11 vendor strings (vmspawn `--smbios11`), e.g. `io.systemd.stub.kernel-cmdline-extra=…`.
   * Each must be non-empty and free of NUL; together with the credentials they must fit in QEMU's SMBIOS tables.
   * @default []
   */
  smbios11?: string[];
  /**
   * Give the guest an ephemeral SSH client key and a pinned host key, wait for SSH on vsock port 22
   * during start, and enable `vm.exec()`. Needs sshd and systemd ≥ 256 (systemd-ssh-generator) in the guest.
   * @default true
   */
  ssh?: boolean;
  /**
   * Wait for the guest's `READY=1` (sent over vsock via the `vmm.notify_socket` credential) before
   * `start()` resolves (vmspawn `--notify-ready`). Notify messages are collected either way.
   * @default true
   */
  notifyReady?: boolean;
  /**
   * Forward the guest's journal to the host (`journal.forward_to_socket`) and keep it as an export
   * file (and a native `.journal` file when systemd-journal-remote is installed) (vmspawn `--forward-journal`).
   * @default true
   */
  forwardJournal?: boolean;
  /**
   * Keep the guest journald's rate limit (`true`), or lift it (`false`) so that no log line is
   * dropped, however fast a test floods the journal. Lifting it adds a drop-in to journald's unit
   * (through two credentials, nothing in the image changes) that writes
   * `/run/systemd/journald.conf.d/zz-vitest-vmspawn-rate-limit.conf` with `RateLimitIntervalSec=0`
   * before journald first starts, so it holds for every message of the boot. Units that set their
   * own `LogRateLimitIntervalSec=`/`LogRateLimitBurst=` keep those. Either way, what journald
   * reports as suppressed is counted in `vm.journal.suppressed`.
   * @default false (lifted: a test tool must not lose log lines silently)
   */
  journalRateLimit?: boolean;
  /**
   * How long `start()` may take, in milliseconds, until the guest is ready (and SSH answers).
   * At most 2147483647 (2**31 - 1, about 24.8 days), the longest a timer can wait.
   * @default 120000
   */
  bootTimeout?: number;
  /**
   * How long a clean power-off may take in `shutdown()`/`stop()` before QEMU is killed, in milliseconds.
   * At most 2147483647 (2**31 - 1), the longest a timer can wait.
   * When the guest shows no sign of hearing the request (SSH gone, the ACPI power button ignored),
   * QEMU is quit after at most 8 s instead.
   * @default 20000
   */
  shutdownTimeout?: number;
  /**
   * Directory for the console log, QEMU command line and log, notify log, journal and summary.
   * It is created if needed and kept after the machine stops. Before the machine starts, a file is written
   * there and removed; an existing file, a read-only file system and /proc, /sys or /dev (but /dev/shm) are refused.
   * @default undefined (a private temporary directory, deleted when the machine stops)
   */
  artifactsDir?: string;
  /**
   * Machine name, used in log lines and as the guest's hostname (credential `system.hostname`).
   * @default 'vm'
   */
  name?: string;
  /**
   * SMBIOS system UUID (vmspawn `--uuid`); systemd initialises an empty machine-id from it.
   * @default a random UUID
   */
  uuid?: string;
  /**
   * QEMU binary: a name looked up on PATH, or a path. It must be an executable file whose `--version`
   * says "QEMU emulator version" (asked once per binary and process, before anything else runs).
   * @default 'qemu-system-x86_64' from PATH
   */
  qemuBinary?: string;
  /**
   * Extra QEMU arguments appended to the generated command line. An escape hatch: prefer options.
   * @default []
   */
  qemuArgs?: string[];
}
