/** Booting bare-metal nodes from the image of a GUID: `nodeset <nodes> osimage=<name>`, each node's answer. */
import { ErrorType } from '../../../common/errors.js';
import type { NodeOutcome } from '../../../common/provision-contract.js';
import type { ManagementNode } from './management-node.js';
import { stateDirsOf } from './osimage-naming.js';
import { readRecord } from './remote-image-record.js';
import { checkName } from './remote-values.js';
import { failureKindOf, parseNodesetOutput } from './xcat-output.js';

export async function provisionOsimage(node: ManagementNode, guid: string, nodes: readonly string[]): Promise<Record<string, NodeOutcome>> {
  for (const n of nodes) checkName(n, 'node name');
  return node.withSession(async (s, sftp) => {
    const record = await readRecord(sftp, stateDirsOf(node.root, guid).record);
    if (!record || record.state !== 'complete') throw node.fail(ErrorType.SiteRejected, `no osimage registered for ${guid}`, true);
    const result = await s.exec([node.config.commands.nodeset, nodes.join(','), `osimage=${record.osimage}`]);
    if (failureKindOf(result) !== 'other') throw node.commandFailure(result, 'nodeset');
    return parseNodesetOutput(result, nodes);
  });
}
