import { describe, expect, it } from 'vitest';
import { escapeProperty, javaDateString, loadProperties, storeProperties } from '../../../client/http-front/java-properties.js';

describe('Java properties (Properties.store / Properties.load)', () => {
  it('writes the date comment line as Java Date.toString in UTC', () => {
    expect(javaDateString(new Date(Date.UTC(2026, 10, 24, 14, 2, 43)))).toBe('Tue Nov 24 14:02:43 UTC 2026');
    expect(javaDateString(new Date(Date.UTC(2027, 0, 3, 4, 5, 6)))).toBe('Sun Jan 03 04:05:06 UTC 2027');
  });

  it('stores the contract example exactly', () => {
    const text = storeProperties({ FILESYSTEM: 'emi-3F0C2A9E', KERNEL: 'eki-1A2B3C4D', RAMDISK: 'eri-5E6F7A8B' }, new Date(Date.UTC(2026, 10, 24, 14, 2, 43)));
    expect(text).toBe('#Tue Nov 24 14:02:43 UTC 2026\nFILESYSTEM=emi-3F0C2A9E\nKERNEL=eki-1A2B3C4D\nRAMDISK=eri-5E6F7A8B\n');
  });

  it('escapes : = # ! and backslash, control characters, non-ASCII as \\uXXXX, spaces as Java does', () => {
    expect(escapeProperty('http://x/a=b#c!d', false)).toBe('http\\://x/a\\=b\\#c\\!d');
    expect(escapeProperty('C:\\images', false)).toBe('C\\:\\\\images');
    expect(escapeProperty('tab\there\nnl\rcr\fff', false)).toBe('tab\\there\\nnl\\rcr\\fff');
    expect(escapeProperty('café ☃', false)).toBe('caf\\u00E9 \\u2603');
    expect(escapeProperty('😀', false)).toBe('\\uD83D\\uDE00');
    expect(escapeProperty(' lead and inner', false)).toBe('\\ lead and inner');
    expect(escapeProperty('a key', true)).toBe('a\\ key');
    expect(escapeProperty('\u0001', false)).toBe('\\u0001');
  });

  it('reads back what it stores, for awkward values', () => {
    const entries = { FILESYSTEM: '/srv/images/a b/FILESYSTEM', QCOW2: 'http://host:8080/x?y=1#z', KERNEL: ' café\t\\', 'odd key=:': 'ünïcødé ☃ 😀' };
    expect(loadProperties(storeProperties(entries))).toEqual(entries);
  });

  it('reads what Java writes and accepts: comments, separators, continuation lines', () => {
    const text = [
      '#Tue Nov 24 14:02:43 UTC 2026',
      '! another comment',
      '   FILESYSTEM = emi-1',
      'KERNEL:eki-2',
      'RAMDISK eri-3',
      'QCOW2=http\\://a/\\',
      '      b',
      'EMPTY=',
      'unicode=\\u00e9',
    ].join('\r\n');
    expect(loadProperties(text)).toEqual({ FILESYSTEM: 'emi-1', KERNEL: 'eki-2', RAMDISK: 'eri-3', QCOW2: 'http://a/b', EMPTY: '', unicode: 'é' });
  });

  it('says what is wrong with a malformed \\u escape', () => {
    expect(() => loadProperties('A=\\u12x4')).toThrow(/malformed \\uxxxx escape: \\u12x4/);
  });
});
