/**
 * Escaping for the report renderings. Every string in an {@link AuditReport} that came from a token
 * or a span (`exec_act`, span names, issuers, finding messages) is attacker-influenced: whoever
 * could sign or export a span chooses it. Nothing from the report reaches the page unescaped.
 */

const XML_ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/**
 * Text or attribute value for HTML and SVG: `& < > " '` become entities, so the result is inert
 * both between tags and inside a quoted attribute.
 *
 * @example
 * escapeXml('<script>') // '&lt;script&gt;'
 */
export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => XML_ESCAPES[c]!);
}

/**
 * JSON for a `<script type="application/json">` block: `<`, `>` and `&` are written as `\u` escapes
 * so no value can close the element (`</script>`) or open a comment (`<!--`), and U+2028/U+2029
 * likewise (JSON allows them raw, older JavaScript string literals did not).
 *
 * @example
 * jsonForScript({ name: '</script>' }) // '{"name":"\\u003c/script\\u003e"}'
 */
export function jsonForScript(value: unknown): string {
  return JSON.stringify(value).replace(
    /[<>&\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

/**
 * `url` if it is an absolute `http:` or `https:` URL, else `undefined`: a link in the report never
 * carries `javascript:`, `data:` or another scheme, whatever the report says.
 *
 * @example
 * safeHttpUrl('javascript:alert(1)') // undefined
 */
export function safeHttpUrl(url: string): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return undefined;
  }
  return parsed.protocol === 'http:' || parsed.protocol === 'https:' ? parsed.href : undefined;
}
