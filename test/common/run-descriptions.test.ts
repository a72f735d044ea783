import { describe, expect, it } from 'vitest';
import {
  downloadSummary,
  fileNameOf,
  fitBytes,
  hostOf,
  imageRunText,
  registerCurrentDetails,
  registerPartsSummary,
  urlShown,
} from '../../common/run-descriptions.js';

const guid = '517ed2b0c3f1a9d8e7b6a5f4e3d2c1b0a9f8e7d6';

describe('what the Temporal UI shows', () => {
  it('a registration reads: what, from which file, to which site, which GUID', () => {
    const { staticSummary, staticDetails } = imageRunText({ url: 'https://images.example.org/u/ubuntu-22.04.xml', guid, sites: ['cloud-a'] });
    expect(staticSummary).toBe('register ubuntu-22.04.xml → cloud-a · 517ed2b0');
    expect(staticDetails).toContain('https://images.example.org/u/ubuntu-22.04.xml');
    expect(staticDetails).toContain(guid);
    expect(imageRunText({ url: 'http://h/x.xml', guid, sites: ['a', 'b', 'c', 'd', 'e'], mode: 'prefetch' }).staticSummary).toBe(
      'prefetch x.xml → a, b, c +2 more · 517ed2b0',
    );
  });

  it('summaries stay within 200 bytes of UTF-8, however long the names', () => {
    const long = imageRunText({ url: `http://h/${'ü'.repeat(300)}.xml`, guid, sites: ['s'.repeat(80)] }).staticSummary;
    expect(Buffer.byteLength(long)).toBeLessThanOrEqual(200);
    expect(long.endsWith('…')).toBe(true);
    expect(fitBytes('→'.repeat(100), 10)).toBe('→→…'); // 9 bytes: a third arrow would not leave room for the ellipsis
  });

  it('URLs are shown without user-info and query string, which may carry secrets', () => {
    expect(urlShown('https://user:pw@images.example.org/a/b.xml?X-Amz-Signature=s3cr3t')).toBe('https://images.example.org/a/b.xml?…');
    expect(hostOf('https://user:pw@images.example.org:8443/a')).toBe('images.example.org');
    expect(hostOf('magnet:?xt=urn:btih:abc')).toBe('magnet');
    expect(fileNameOf('https://h/dir/ubuntu%2022.xml?token=x')).toBe('ubuntu 22.xml');
    expect(fileNameOf('https://h/')).toBe('https://h/');
  });

  it('activity summaries name the part, its origin and the site', () => {
    const part = { type: 'FILESYSTEM' as const, url: 'https://images.example.org/fs.img', hash: { algorithm: 'sha1' as const, hex: 'ab' } };
    expect(downloadSummary(part)).toBe('download FILESYSTEM from images.example.org');
    expect(downloadSummary(part, 8 * 2 ** 30)).toBe('download FILESYSTEM 8.0 GiB from images.example.org');
    expect(registerPartsSummary([{ type: 'FILESYSTEM', size: 2 ** 30 }, { type: 'KERNEL', size: 2 ** 20 }], 'cloud-a')).toBe(
      'register 2 parts (FILESYSTEM, KERNEL, 1.0 GiB) at cloud-a',
    );
  });

  it('current details: stage, parts done, ids when done, the reason when failed', () => {
    const parts = [
      { type: 'FILESYSTEM' as const, url: 'https://h/fs?sig=x', hash: { algorithm: 'sha1' as const, hex: 'aa' }, size: 3 << 20 },
      { type: 'KERNEL' as const, url: 'https://h/k', hash: { algorithm: 'sha1' as const, hex: 'bb' } },
    ];
    const downloading = registerCurrentDetails({ stage: 'download', site: 'cloud-a', parts });
    expect(downloading).toContain('**Stage:** download · parts in the cache: 1 of 2');
    expect(downloading).toContain('- **FILESYSTEM** · 3.0 MiB · sha1:aa · https://h/fs?…');
    expect(downloading).toContain('- **KERNEL** · downloading… · sha1:bb ·');
    const done = registerCurrentDetails({ stage: 'done', site: 'cloud-a', parts, ids: { FILESYSTEM: 'emi-1' }, alreadyRegistered: true });
    expect(done).toContain('**Ids at cloud-a** (already registered):\n\n- FILESYSTEM: `emi-1`');
    expect(registerCurrentDetails({ stage: 'failed', site: 'cloud-a', parts: [], error: 'HTTP 404 for https://h/k' })).toContain('**Failed:** HTTP 404 for https://h/k');
    // Where the host took each part, once it has it (a distribution's later sites: peers).
    const fromPeers = registerCurrentDetails({ stage: 'register', site: 'cloud-a', parts: [{ ...parts[0]!, from: 'peers' as const }] });
    expect(fromPeers).toContain('- **FILESYSTEM** · 3.0 MiB from peers · sha1:aa ·');
  });
});
