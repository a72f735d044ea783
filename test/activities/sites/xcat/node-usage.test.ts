import { describe, expect, it } from 'vitest';
import { classifyNodeUsage, nodesUsingArgs } from '../../../../activities/sites/xcat/node-usage.js';
import { parseRequestMark } from '../../../../activities/sites/xcat/remote-request-mark.js';
import type { CommandResult } from '../../../../activities/sites/xcat/xcat-output.js';

const N = 'rhels8.6-x86_64-netboot-imageproxy-abc';
const r = (code: number | null, stdout: string, stderr = ''): CommandResult => ({ argv: ['lsdef', ...nodesUsingArgs(N)], code, stdout, stderr });

describe('which nodes use an osimage (lsdef -t node -w provmethod==…)', () => {
  it('asks xCAT for nodes whose provmethod is exactly the osimage', () => {
    expect(nodesUsingArgs(N)).toEqual(['-t', 'node', '-w', `provmethod==${N}`, '-i', 'provmethod']);
  });

  it('lists the nodes of matching stanzas', () => {
    const out = `Object name: cn01\n    provmethod=${N}\nObject name: cn02\n    provmethod=${N}\n`;
    expect(classifyNodeUsage(r(0, out), N)).toEqual({ kind: 'in-use', nodes: ['cn01', 'cn02'] });
  });

  it('reads "no node matches" in each form xCAT prints it as unused', () => {
    expect(classifyNodeUsage(r(0, ''), N)).toEqual({ kind: 'unused' });
    expect(classifyNodeUsage(r(0, 'No object definitions have been found\n'), N)).toEqual({ kind: 'unused' });
    expect(classifyNodeUsage(r(0, 'Could not find any object definitions to display.\n'), N)).toEqual({ kind: 'unused' });
    expect(classifyNodeUsage(r(1, '', "Error: [mn]: Could not get objects of type 'node'.\n"), N)).toEqual({ kind: 'unused' });
  });

  it('never takes a failure or output it does not understand for "unused"', () => {
    const xcatdDown = r(1, 'Unable to open socket connection to xcatd daemon on localhost:3001.\nVerify that the xcatd daemon is running and that your SSL setup is correct.\n');
    expect(classifyNodeUsage(xcatdDown, N)).toMatchObject({ kind: 'error', failure: 'xcatd-down' });
    expect(classifyNodeUsage(r(1, '', 'Error: [mn]: Permission denied for request.\n'), N)).toMatchObject({ kind: 'error', failure: 'permission-denied' });
    // A failing exit with the "none found" text is still a failure.
    expect(classifyNodeUsage(r(1, 'No object definitions have been found\n'), N).kind).toBe('error');
    expect(classifyNodeUsage(r(null, ''), N).kind).toBe('error');
    expect(classifyNodeUsage(r(0, '', "Error: [mn]: 'provmethod' is not a valid attribute name for an object type of 'node'.\n"), N).kind).toBe('error');
    expect(classifyNodeUsage(r(0, 'Incorrect selection string specified with -w flag.\n'), N).kind).toBe('error');
    // A node with another provmethod means the selection did not do what we asked.
    expect(classifyNodeUsage(r(0, 'Object name: cn01\n    provmethod=netboot\n'), N)).toMatchObject({ kind: 'error', message: expect.stringMatching(/cn01 with provmethod=netboot/) });
    expect(classifyNodeUsage(r(0, `Object name: cn01\n    provmethod=${N}\nsomething else\n`), N).kind).toBe('error');
  });

  it('asks the same way about another attribute (profile)', () => {
    expect(nodesUsingArgs('imageproxy-abc', 'profile')).toEqual(['-t', 'node', '-w', 'profile==imageproxy-abc', '-i', 'profile']);
    expect(classifyNodeUsage(r(0, 'Object name: cn03\n    profile=imageproxy-abc\n'), 'imageproxy-abc', 'profile')).toEqual({ kind: 'in-use', nodes: ['cn03'] });
    expect(classifyNodeUsage(r(0, 'Object name: cn03\n    profile=compute\n'), 'imageproxy-abc', 'profile').kind).toBe('error');
  });
});

describe('request marks', () => {
  it('reads an ISO time and nothing else', () => {
    expect(parseRequestMark('2026-11-24T18:00:00.123Z\n')).toEqual(new Date('2026-11-24T18:00:00.123Z'));
    expect(parseRequestMark('')).toBeUndefined();
    expect(parseRequestMark('yesterday')).toBeUndefined();
    expect(parseRequestMark('2026-11-24T18:00:00.1')).toBeUndefined();
  });
});
