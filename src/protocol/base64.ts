/**
 * Base64 as the protocol carries bytes (`runtimeConfig.instructionsFileContent`): RFC 4648's standard alphabet,
 * padded with `=` to a multiple of 4 characters, on one line. That form decodes to the same bytes in every decoder,
 * the lenient ones (Node's Buffer, which the original runner uses) and the strict ones alike.
 */
export const BASE64_RULE = 'base64 (RFC 4648: A-Z, a-z, 0-9, + and /, padded with = to a multiple of 4 characters, on one line)';

/** Whether `text` is base64 as the protocol carries it (see BASE64_RULE). */
export function isBase64(text: string): boolean {
  return text.length % 4 === 0 && /^[A-Za-z0-9+/]*={0,2}$/.test(text);
}

/** How many characters of base64 carry `bytes` bytes. */
export function base64Length(bytes: number): number {
  return 4 * Math.ceil(bytes / 3);
}
