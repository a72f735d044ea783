import { describe, expect, it } from 'vitest';
import { isTarHeader, memberRole, sniffCompression, unsupportedFormatOf } from '../../../activities/images/archive-format.js';

const bytes = (...b: number[]): Buffer => Buffer.from(b);

describe('sniffCompression', () => {
  it('knows gzip, bzip2, xz and lzma by their magic bytes', () => {
    expect(sniffCompression(bytes(0x1f, 0x8b, 0x08, 0x00))).toBe('gzip');
    expect(sniffCompression(Buffer.from('BZh91AY&SY'))).toBe('bzip2');
    expect(sniffCompression(bytes(0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00, 0x00))).toBe('xz');
    expect(sniffCompression(bytes(0x5d, 0x00, 0x00, 0x80, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff))).toBe('lzma');
  });
  it('answers nothing for other or too short content', () => {
    expect(sniffCompression(bytes())).toBeUndefined();
    expect(sniffCompression(bytes(0x1f))).toBeUndefined();
    expect(sniffCompression(Buffer.from('BZh0'))).toBeUndefined();
    expect(sniffCompression(Buffer.from('hello world, plain text'))).toBeUndefined();
    expect(sniffCompression(bytes(0x28, 0xb5, 0x2f, 0xfd))).toBeUndefined();
  });
  it('names formats it recognises but does not unpack', () => {
    expect(unsupportedFormatOf(bytes(0x28, 0xb5, 0x2f, 0xfd, 0))).toBe('zstd');
    expect(unsupportedFormatOf(Buffer.from('PK\x03\x04rest', 'latin1'))).toBe('zip');
    expect(unsupportedFormatOf(Buffer.from('plain'))).toBeUndefined();
  });
});

describe('isTarHeader', () => {
  it('looks for ustar at offset 257', () => {
    const block = Buffer.alloc(512);
    expect(isTarHeader(block)).toBe(false);
    block.write('ustar\0', 257, 'latin1');
    expect(isTarHeader(block)).toBe(true);
    block.write('ustar ', 257, 'latin1'); // GNU
    expect(isTarHeader(block)).toBe(true);
    expect(isTarHeader(block.subarray(0, 200))).toBe(false);
  });
});

describe('memberRole', () => {
  it.each([
    ['filesystem', 'filesystem'],
    ['./filesystem', 'filesystem'],
    ['././filesystem', 'filesystem'],
    ['a/../filesystem', 'filesystem'],
    ['image/filesystem', 'other'],
    ['kernel', 'other'],
    ['../filesystem', 'escapes'],
    ['a/../../filesystem', 'escapes'],
    ['/filesystem', 'escapes'],
    ['..', 'escapes'],
    ['file\0system', 'escapes'],
  ])('%j is %s', (name, role) => {
    expect(memberRole(name)).toBe(role);
  });
});
