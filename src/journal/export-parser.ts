/**
 * Streaming parser of the Journal Export Format (systemd's journal-export-format): entries are
 * runs of fields ended by an empty line; a field is `NAME=value\n`, or for values with newlines or
 * binary data `NAME\n` + 64-bit little-endian length + data + `\n`.
 */

export interface ExportedEntry {
  /** Field name → value; binary values decoded as UTF-8. A repeated field keeps its last value. */
  fields: Record<string, string>;
  /** The entry's bytes exactly as received, ending with the empty line. */
  bytes: Buffer;
}

export class JournalExportParser {
  /** Unparsed bytes; starts with the entry that is still incomplete. */
  #buffer: Buffer = Buffer.alloc(0);
  /** Offset in #buffer where the entry being parsed starts. */
  #entryStart = 0;
  #fields: Record<string, string> = {};
  #fieldCount = 0;

  constructor(private readonly onEntry: (entry: ExportedEntry) => void) {}

  /** Bytes of an entry that has started but not ended yet. */
  get pendingBytes(): number {
    return this.#buffer.length - this.#entryStart;
  }

  write(chunk: Buffer): void {
    // Keep only the incomplete entry and parse it again from its start together with the new bytes.
    const pending = this.#buffer.subarray(this.#entryStart);
    this.#buffer = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    this.#entryStart = 0;
    this.#fields = {};
    this.#fieldCount = 0;
    let position: number | undefined = 0;
    while (position !== undefined) position = this.#readField(position);
    if (this.#entryStart === this.#buffer.length) {
      this.#buffer = Buffer.alloc(0);
      this.#entryStart = 0;
    }
  }

  /** Parses one field (or the end of an entry) at `position`; returns the next position, or undefined when more bytes are needed. */
  #readField(position: number): number | undefined {
    const buffer = this.#buffer;
    const newline = buffer.indexOf(0x0a, position);
    if (newline < 0) return undefined;

    if (newline === position) {
      const end = position + 1;
      if (this.#fieldCount > 0) {
        this.onEntry({ fields: this.#fields, bytes: Buffer.from(buffer.subarray(this.#entryStart, end)) });
      }
      this.#entryStart = end;
      this.#fields = {};
      this.#fieldCount = 0;
      return end;
    }

    const equals = buffer.indexOf(0x3d, position);
    if (equals >= 0 && equals < newline) {
      this.#addField(buffer.toString('utf8', position, equals), buffer.toString('utf8', equals + 1, newline));
      return newline + 1;
    }

    const sizeStart = newline + 1;
    if (buffer.length < sizeStart + 8) return undefined;
    const size = Number(buffer.readBigUInt64LE(sizeStart));
    const dataStart = sizeStart + 8;
    const dataEnd = dataStart + size;
    if (buffer.length < dataEnd + 1) return undefined;
    this.#addField(buffer.toString('utf8', position, newline), buffer.toString('utf8', dataStart, dataEnd));
    return dataEnd + 1;
  }

  #addField(name: string, value: string): void {
    this.#fields[name] = value;
    this.#fieldCount++;
  }
}
