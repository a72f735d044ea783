import { describe, expect, it } from 'vitest';
import {
  alreadyExists,
  classifyLsdef,
  definedCount,
  importedImageName,
  parseLsdefStanzas,
  parseNodesetOutput,
  removedCount,
  type CommandResult,
} from '../../../../activities/sites/xcat/xcat-output.js';

const r = (code: number | null, stdout: string, stderr = ''): CommandResult => ({ argv: ['lsdef'], code, stdout, stderr });
const N = 'rhels8.6-x86_64-netboot-compute';

describe('xCAT output', () => {
  it('parses lsdef stanzas', () => {
    const out = `Object name: ${N}\n    imagetype=linux\n    osarch=x86_64\n    rootimgdir=/install/netboot/rhels8.6/x86_64/compute\n    synclists=\nObject name: other\n    osvers=x\n`;
    expect(parseLsdefStanzas(out).get(N)).toEqual({ imagetype: 'linux', osarch: 'x86_64', rootimgdir: '/install/netboot/rhels8.6/x86_64/compute', synclists: '' });
    expect(classifyLsdef(r(0, out), N)).toEqual({ kind: 'exists', attrs: expect.objectContaining({ imagetype: 'linux' }) });
  });

  it('classifies not found, the empty-table quirk, xcatd down and anything else', () => {
    expect(classifyLsdef(r(1, 'No object definitions have been found\n', `Error: [mn]: Could not find an object named '${N}' of type 'osimage'.\n`), N)).toEqual({ kind: 'not-found' });
    expect(classifyLsdef(r(0, 'Could not find any object definitions to display.\n'), N)).toEqual({ kind: 'not-found' });
    const down = classifyLsdef(r(1, 'Unable to open socket connection to xcatd daemon on localhost:3001.\nVerify that the xcatd daemon is running and that your SSL setup is correct.\n', 'Connection failure: …'), N);
    expect(down).toMatchObject({ kind: 'error', failure: 'xcatd-down' });
    expect(classifyLsdef(r(1, '', 'Error: [mn]: Permission denied for request.\n'), N)).toMatchObject({ kind: 'error', failure: 'permission-denied' });
    // Not found for another name, an empty success, or a signal are not answers.
    expect(classifyLsdef(r(1, 'No object definitions have been found\n', "Error: [mn]: Could not find an object named 'x' of type 'osimage'.\n"), N).kind).toBe('error');
    expect(classifyLsdef(r(0, ''), N).kind).toBe('error');
    expect(classifyLsdef(r(null, ''), N).kind).toBe('error');
  });

  it('reads mkdef, rmdef, imgimport and nodeset answers', () => {
    expect(definedCount(r(0, '1 object definitions have been created or modified.\n'))).toBe(1);
    const exists = r(1, `Warning: [mn]: A definition for '${N}' already exists.\n`, 'Error: [mn]: 0 object definitions have been created or modified.\n');
    expect(definedCount(exists)).toBe(0);
    expect(alreadyExists(exists, N)).toBe(true);
    expect(removedCount(r(0, '1 object definitions have been removed.\n'))).toBe(1);
    expect(importedImageName(r(0, `Unbundling image...\n/install/netboot/x/kernel\nSuccessfully imported the image ${N}.\n`))).toBe(N);
    expect(importedImageName(r(1, '', 'Error: [mn]: Failed to find manifest.xml file in image bundle\n'))).toBeUndefined();
    const nodeset = parseNodesetOutput(r(0, 'cn1: netboot rhels8.6-x86_64-compute\n'), ['cn1', 'cn2']);
    expect(nodeset).toEqual({ cn1: { ok: true, detail: 'netboot rhels8.6-x86_64-compute' }, cn2: { ok: false, detail: 'no answer for this node' } });
  });
});
