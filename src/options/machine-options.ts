/**
 * The options of one virtual machine. Names follow systemd-vmspawn's command line
 * (`--linux`, `--initrd`, `--image`, `--cpus`, `--ram`, `--kvm`, `--set-credential`, …)
 * so that its manual page reads as a reference for them too.
 */

/** How to accelerate the guest CPU. */
export type KvmSetting = boolean | 'auto';

/** Which vsock implementation connects host and guest; `false`: none (SSH over a private user-mode network instead). */
export type VsockSetting = 'auto' | 'kernel' | 'user-space' | false;

/** Whether to look for UEFI firmware with Secure Boot. */
export type SecureBootSetting = 'auto' | boolean;

/** Format of a disk image. */
export type ImageFormat = 'auto' | 'raw' | 'qcow2';

/** A further disk (vmspawn `--extra-drive`): a path, or a path with settings. */
export type ExtraDrive =
  | string
  | {
      /** Raw or qcow2 image file, or a block device. */
      path: string;
      /**
       * Format of the file; a declared format must match the file.
       * @default 'auto' (qcow2 when the file starts with the qcow2 magic, raw otherwise)
       */
      format?: ImageFormat;
      /**
       * Attach it read-only: the guest cannot write to it at all (the file is opened read-only).
       * @default false
       */
      readOnly?: boolean;
      /**
       * `true`: the guest writes to a throwaway qcow2 overlay, deleted with the machine, so the file
       * never changes. `false`: the guest writes to the file itself (it must be writable).
       * @default true
       */
      ephemeral?: boolean;
      /**
       * virtio-blk serial, so the guest finds the disk as `/dev/disk/by-id/virtio-<serial>`: 1-20
       * letters, digits, `.`, `_`, `+` or `-`.
       * @default the file name (as vmspawn), other characters replaced by `_`, cut to 20 bytes
       */
      serial?: string;
    };

/** How the guest is networked: not at all, through QEMU's user-mode stack, or through a host tap device. */
export type NetworkSetting = 'none' | 'user' | { tap: string };

/** A host TCP port forwarded to a guest TCP port (user-mode networking). */
export type PortForward =
  | number
  | {
      /** Guest TCP port. */
      guest: number;
      /**
       * Host TCP port on 127.0.0.1; 0 picks a free one (see `vm.hostPort()`).
       * @default 0
       */
      host?: number;
    };
/** Whether to attach a software TPM (swtpm). */
export type TpmSetting = boolean | 'auto';

/** Where the software TPM keeps its state: `'auto'`, `'off'` (both transient here) or a directory. */
export type TpmStateSetting = 'auto' | 'off' | (string & {});

export interface MachineOptions {
  /**
   * Kernel to boot (vmspawn `--linux`): a plain kernel is booted directly under SeaBIOS, a unified
   * kernel image (a PE file with a `.linux` section) through UEFI firmware. Give `linux`, `image` or
   * `directory`, or `linux` with one of the others (a disk or tree booted with a kernel from the host).
   * @default undefined
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
   * Without `linux`, it is booted through UEFI firmware (see `firmware`).
   * @default undefined
   */
  image?: string;
  /**
   * Directory holding an OS tree to boot as the guest's root file system, shared over virtiofs
   * (vmspawn `--directory`): one virtiofsd serves it, the kernel mounts it with
   * `root=root rootfstype=virtiofs rw`. It must contain `/usr/lib/os-release` or `/etc/os-release`.
   * The kernel is `linux` when given; otherwise, as in vmspawn, the tree's default Boot Loader
   * Specification entry (Type #1 `.conf` files in `/boot/loader/entries` and `/efi/loader/entries`,
   * newest version first), or a unified kernel image (Type #2, in `/boot/EFI/Linux` or `/efi/EFI/Linux`),
   * which is booted through UEFI firmware. Not together with `image`. Needs root on the host (virtiofsd,
   * a private mount namespace).
   * @default undefined
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
   * Further disks (vmspawn `--extra-drive`), attached as virtio disks after the root disk (`/dev/vdb`,
   * `/dev/vdc`, … with `image`; from `/dev/vda` without), each with a serial so that the guest finds it
   * as `/dev/disk/by-id/virtio-<serial>`. By default the guest writes to a throwaway qcow2 overlay
   * and the file never changes; `ephemeral: false` lets the guest write to the file, `readOnly: true`
   * lets it write nothing.
   * @default []
   */
  extraDrives?: ExtraDrive[];
  /**
   * Grow the root disk to this size (vmspawn `--grow-image`): bytes, or a string with K, M, G or T
   * suffix to the base of 1024, rounded up to a multiple of 4096. Only with `image`. The throwaway
   * overlay gets the new size, the image file itself never changes. Smaller than the image is an error.
   * @default undefined (the image's own size)
   */
  growImage?: string | number;
  /**
   * Pass the guest's discard (TRIM) requests on to the disk files (`discard=unmap`), so that overlays
   * and writable drives shrink when the guest frees space; `false` ignores them (vmspawn `--discard-disk`).
   * @default true (as systemd-vmspawn)
   */
  discardDisk?: boolean;
  /**
   * Networking. `'none'`: no network device. `'user'`: QEMU's user-mode stack (vmspawn
   * `--network-user-mode`); the guest is 10.0.2.15/24, the host reachable as 10.0.2.2, and
   * `portForwards` make guest ports reachable from the host. `{ tap: 'NAME' }`: the host tap device
   * NAME (vmspawn `--network-tap`); it needs root, or a tap device made beforehand for this user, and
   * the host side set up (an address, a DHCP server or a bridge). Either way the guest's NIC is
   * configured through systemd-networkd by credentials (static for `'user'`, DHCP for a tap).
   * @default 'none' (as systemd-vmspawn: tests stay hermetic)
   */
  network?: NetworkSetting;
  /**
   * Host TCP ports forwarded to guest TCP ports (only with `network: 'user'`): a guest port (on a
   * free host port), or `{ guest, host }`. The host ports listen on 127.0.0.1; `vm.hostPort(guest)`
   * tells which one a guest port got.
   * @default []
   */
  portForwards?: PortForward[];
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
   * vsock implementation. `'kernel'` is the kernel's vsock (QEMU's `vhost-vsock-pci`, as
   * systemd-vmspawn uses): it needs `/dev/vhost-vsock` readable and writable by this user and
   * `socat` installed. `'user-space'` runs one `vhost-device-vsock` per machine; it works with and
   * without KVM. `false` uses no vsock: SSH, readiness and the journal go over a private user-mode
   * network to a host port on 127.0.0.1, and notify messages are unavailable. `'auto'` picks the
   * kernel's when `/dev/vhost-vsock` can be opened and socat is installed, else user-space when
   * `vhost-device-vsock` is installed, else none, and says which and why in the machine log. The
   * environment variable `VMSPAWN_VSOCK=kernel|user-space|none` overrides `'auto'`.
   * @default 'auto'
   */
  vsock?: VsockSetting;
  /**
   * The guest's vsock CID (vmspawn `--vsock-cid`), 3 to 4294967294 (0xFFFFFFFE). With kernel vsock,
   * where CIDs are shared by all virtual machines of the host, a CID that is taken fails the start;
   * unset, the CID is derived from `name` as vmspawn derives it, and a taken one is replaced by a
   * random free one. With user-space vsock each machine has its own, 3 by default.
   * @default derived from `name` (kernel vsock), 3 (user-space vsock)
   */
  vsockCid?: number;
  /**
   * Attach a software TPM 2.0 (vmspawn `--tpm`): one `swtpm` per machine, seen by the guest as
   * `/dev/tpm0` and `/dev/tpmrm0` (a `tpm-tis` device). `'auto'` attaches it when `swtpm` and
   * `swtpm_setup` are installed (Debian: `swtpm`, `swtpm-tools`) and says so in the machine log;
   * `true` requires them and fails before anything starts when they are missing.
   * @default 'auto' (as systemd-vmspawn)
   */
  tpm?: TpmSetting;
  /**
   * Where the TPM keeps its state (vmspawn `--tpm-state`). A directory path (relative to the current
   * directory) keeps it across machines, so a second boot sees what the first stored (keys sealed
   * with `systemd-creds --with-key=tpm2`, persistent handles, NV indexes); it is created if missing
   * and initialised by `swtpm_setup` if empty. `'off'` keeps the state in the machine's private
   * runtime directory, deleted with the machine. `'auto'` is `'off'` here: vmspawn's `'auto'` writes
   * `IMAGE.tpmstate` next to the image, except for ephemeral machines, and a machine here always is
   * one (its disk is a throwaway overlay), so nothing is written next to your image.
   * Only with a TPM: an error with `tpm: false`.
   * @default 'auto' (transient)
   */
  tpmState?: TpmStateSetting;
  /**
   * Extra kernel command line arguments, appended after the ones the engine needs (`console=ttyS0 panic=-1`),
   * on every boot path: with `-append` for a kernel booted directly, and through the SMBIOS strings
   * `io.systemd.stub.kernel-cmdline-extra` (read by systemd-stub, so UKIs) and
   * `io.systemd.boot.kernel-cmdline-extra` (read by systemd-boot for Type #1 entries) when booting through
   * UEFI. Other boot loaders (GRUB) ignore those strings. Under Secure Boot, systemd-stub accepts them too.
   * @default []
   */
  kernelArgs?: string[];
  /**
   * UEFI firmware: the path of a QEMU firmware descriptor (a JSON file as in `/usr/share/qemu/firmware`,
   * vmspawn `--firmware`). Without it, UEFI firmware is chosen from the descriptors QEMU itself finds
   * (`$XDG_CONFIG_HOME/qemu/firmware`, `/etc/qemu/firmware`, `/usr/share/qemu/firmware`); see `listFirmware()`.
   * A machine boots through UEFI when it has an `image` and no `linux`, when `linux` is a unified kernel
   * image (UKI), or when `firmware` is given; a plain kernel as `linux` boots directly under SeaBIOS,
   * which is faster. The firmware's files are never written: each machine gets its own copy of the
   * variable store.
   * @default undefined (chosen from the descriptors by `secureBoot`)
   */
  firmware?: string;
  /**
   * Which UEFI firmware to look for (vmspawn `--secure-boot`): `true` the first with Secure Boot
   * (on q35 with SMM, which Secure Boot needs), `false` the first without. `'auto'` differs from vmspawn,
   * which takes the first descriptor (on Debian, firmware that enforces Microsoft's keys and so boots
   * only signed images): it takes the first without Secure Boot, else the first that enforces no
   * enrolled keys. With `firmware`, the descriptor must agree with a `true` or `false`.
   * @default 'auto'
   */
  secureBoot?: SecureBootSetting;
  /**
   * Credentials passed to the guest's system manager via SMBIOS type 11 (vmspawn `--set-credential`),
   * name → value. The values travel through 0600 files, never on the QEMU command line.
   * `tmpfiles.extra` and `ssh.ephemeral-authorized_keys-all` are merged with the engine's own lines.
   * SMBIOS is small: QEMU's SMBIOS tables hold 65535 bytes in all, so credentials and `smbios11` strings
   * together get about 59 KiB, values travel base64-encoded, and one value can be at most about 44 KiB.
   * Larger values are rejected before the machine starts; copy large data in with `vm.exec(…, { input })`.
   * @default {}
   */
  setCredential?: Record<string, string | Uint8Array>;
  /**
   * Credentials read from files on the host (vmspawn `--load-credential`), name → path. The files share
   * the SMBIOS limit of `setCredential` (one file of at most about 44 KiB); they are measured at start.
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
   * `start()` resolves (vmspawn `--notify-ready`). Notify messages are collected either way. With
   * `vsock: false`, waits for `systemctl is-system-running --wait` over SSH instead.
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
   * Also serve the guest's serial console on this Unix socket, where QEMU listens: whoever connects
   * reads what the console prints from then on and types into it (`vitest-vmspawn run
   * --console=interactive`). console.log keeps all of it either way. The path must be at most 107
   * bytes and in a directory only you can enter.
   * @default undefined (the console is written to console.log only)
   */
  consoleSocket?: string;
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
