import { describe, expect, it } from 'vitest';
import { MetadataError, parseImageMetadata, parseSignature } from '../../../activities/metadata/parse-metadata.js';

const A = 'a'.repeat(40);
const B = 'b'.repeat(40);
const entry = (type: string, sig = A, url = `http://origin.example/${type.toLowerCase()}`): string =>
  `<image><type>${type}</type><signature>${sig}</signature><url>${url}</url></image>`;
const doc = (...entries: string[]): string => `<?xml version="1.0"?><images>${entries.join('')}</images>`;

describe('parseImageMetadata', () => {
  it('reads every image entry, trimmed, with bare SHA-1 signatures', () => {
    const parts = parseImageMetadata(
      doc(`<image>\n <type> ZFILESYSTEM </type>\n <signature>\n${A.toUpperCase()}\n</signature>\n <url> http://x/fs.tgz?a=1&amp;b=2 </url></image>`, entry('KERNEL', B)),
    );
    expect(parts).toEqual([
      { type: 'ZFILESYSTEM', hash: { algorithm: 'sha1', hex: A }, url: 'http://x/fs.tgz?a=1&b=2' },
      { type: 'KERNEL', hash: { algorithm: 'sha1', hex: B }, url: 'http://origin.example/kernel' },
    ]);
  });

  it('finds image elements wherever they stand and takes the first of each child', () => {
    const xml = `<catalog><group><image><type>QCOW2</type><type>KERNEL</type><signature>${A}</signature><signature>${B}</signature><url>http://x/1</url></image></group></catalog>`;
    expect(parseImageMetadata(xml)).toEqual([{ type: 'QCOW2', hash: { algorithm: 'sha1', hex: A }, url: 'http://x/1' }]);
  });

  it('lets FILESYSTEM win over ZFILESYSTEM', () => {
    const parts = parseImageMetadata(doc(entry('ZFILESYSTEM', A), entry('FILESYSTEM', B), entry('RAMDISK')));
    expect(parts.map((p) => p.type)).toEqual(['FILESYSTEM', 'RAMDISK']);
  });

  it('accepts sha256: and sha512: signatures', () => {
    const s256 = `sha256:${'c'.repeat(64)}`;
    const s512 = `sha512:${'d'.repeat(128)}`;
    const parts = parseImageMetadata(doc(entry('FILESYSTEM', s256), entry('KERNEL', s512)));
    expect(parts.map((p) => p.hash)).toEqual([
      { algorithm: 'sha256', hex: 'c'.repeat(64) },
      { algorithm: 'sha512', hex: 'd'.repeat(128) },
    ]);
  });

  it.each([
    ['a DOCTYPE', `<!DOCTYPE images SYSTEM "http://evil/x.dtd">${doc(entry('FILESYSTEM'))}`, /DOCTYPE/],
    ['an internal entity', `<!DOCTYPE images [<!ENTITY a "aaaa">]>${doc(entry('FILESYSTEM'))}`, /DOCTYPE or entity/],
    ['broken XML', '<images><image><type>FILESYSTEM</type></images>', /not well-formed XML/],
    ['no image at all', '<images/>', /no <image> element/],
    ['an unknown type', doc(entry('FILESYSTEM'), entry('vmlinuz')), /<image> #2: unknown type "vmlinuz"/],
    ['a lowercase type word', doc(entry('filesystem')), /<image> #1: unknown type "filesystem"/],
    ['a missing signature', doc('<image><type>FILESYSTEM</type><url>http://x/</url></image>'), /<image> #1: missing <signature>/],
    ['an empty url', doc(entry('FILESYSTEM', A, '  ')), /<image> #1: <url> is empty/],
    ['a relative url', doc(entry('FILESYSTEM', A, 'images/fs.img')), /<image> #1 \(FILESYSTEM\): url "images\/fs.img" is not an absolute URL/],
    ['a short signature', doc(entry('FILESYSTEM', 'abc')), /<image> #1 \(FILESYSTEM\): signature "abc" is not 40-hex SHA-1/],
    ['a sha256 of the wrong length', doc(entry('FILESYSTEM', `sha256:${A}`)), /signature "sha256:a+" is not/],
    ['two kernels', doc(entry('FILESYSTEM'), entry('KERNEL'), entry('KERNEL', B)), /<image> #3: a second KERNEL entry/],
    ['only a kernel', doc(entry('KERNEL')), /no FILESYSTEM, ZFILESYSTEM or QCOW2 entry/],
    ['a type with markup inside', doc(`<image><type><b>FILESYSTEM</b></type><signature>${A}</signature><url>http://x/</url></image>`), /<type> must hold plain text/],
  ])('rejects %s with a message naming the problem', (_name, xml, message) => {
    expect(() => parseImageMetadata(xml)).toThrow(MetadataError);
    expect(() => parseImageMetadata(xml)).toThrow(message);
  });
});

describe('parseSignature', () => {
  it('keeps bare 40-hex SHA-1 working exactly as before, case-insensitively', () => {
    expect(parseSignature(A)).toEqual({ algorithm: 'sha1', hex: A });
    expect(parseSignature(A.toUpperCase())).toEqual({ algorithm: 'sha1', hex: A });
    expect(parseSignature(`sha1:${A}`)).toEqual({ algorithm: 'sha1', hex: A });
    expect(parseSignature(`md5:${A}`)).toBeUndefined();
    expect(parseSignature('g'.repeat(40))).toBeUndefined();
  });
});
