/**
 * XML text for repodata (docs/formats/rpm.md#primary-filelists-other item 6): `&`, `<`, `>`
 * escaped in text, `"` too in attributes. Characters XML 1.0 forbids (controls other than TAB,
 * LF, CR; U+FFFE/U+FFFF; lone surrogates) would make libxml2 and expat reject the whole file, so
 * they become U+FFFD: one odd changelog byte must not take a repository down.
 */
const FORBIDDEN = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

export function text(s: string): string {
  return s.replace(FORBIDDEN, '\ufffd').replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export function attr(s: string | number): string {
  return text(String(s)).replace(/"/g, '&quot;');
}

/** `<tag>text</tag>`, or `<tag/>` when empty, as libxml2 writes it. */
export function element(tag: string, value: string, indent: string): string {
  return value === '' ? `${indent}<${tag}/>\n` : `${indent}<${tag}>${text(value)}</${tag}>\n`;
}
