/** QEMU option values separate key=value pairs with commas; a literal comma is written twice. */
export function escapeOptionValue(value: string): string {
  return value.replaceAll(',', ',,');
}
