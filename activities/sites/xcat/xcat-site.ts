/**
 * The `xcat` site: makes an image an xCAT osimage on the management node, over SSH (ssh2).
 * Netboot sets (register-netboot.ts) and imgexport bundles (register-imgexport.ts) are uploaded
 * to a staging directory on the same file system, resumable and hash-checked on the far side,
 * before anything is moved into place (staged-transaction.ts). A failed create is undone in
 * reverse order, and only what it made.
 */
import type { SFTPWrapper } from 'ssh2';
import { ErrorType } from '../../../common/errors.js';
import type { ImageIds } from '../../../common/image-types.js';
import type { NodeOutcome } from '../../../common/provision-contract.js';
import type { RegisteredImage, RegisterRequest, SiteBackend } from '../site-backend.js';
import { deregisterOsimage } from './deregister-osimage.js';
import { detectInputForm, InputFormError, type InputForm } from './detect-input-form.js';
import { pathsOutside } from './imgexport-manifest.js';
import { connectManagementNode, type ManagementNode } from './management-node.js';
import { listOsimages, markOsimageRequested, osimageInUse } from './osimage-clean-up.js';
import { stateDirsOf } from './osimage-naming.js';
import { provisionOsimage } from './provision-osimage.js';
import { registerImgexport } from './register-imgexport.js';
import { registerNetboot } from './register-netboot.js';
import { readRecord } from './remote-image-record.js';
import { remoteSize } from './sftp-upload.js';
import type { SshSession } from './ssh-session.js';
import type { XcatSiteConfig } from './xcat-site-options.js';

export const XCAT_SITE_TYPE = 'xcat';

export interface XcatSiteOptions {
  site: string;
  config: XcatSiteConfig;
  /** Contents of the private key file (read by the worker at start). */
  privateKey: Buffer;
  /** The key's passphrase, read from privateKeyPassphraseFile by the worker at start. */
  passphrase?: string;
}

export interface XcatSite extends SiteBackend {
  listImages(): Promise<RegisteredImage[]>;
  markRequested(guid: string, at: Date): Promise<void>;
  inUse(guid: string): Promise<boolean>;
  /** `nodeset <nodes> osimage=<name>` for the image of `guid`; each node's answer. */
  provision(guid: string, nodes: readonly string[]): Promise<Record<string, NodeOutcome>>;
}

export function createXcatSite({ site, config, privateKey, passphrase }: XcatSiteOptions): XcatSite {
  const node = connectManagementNode(site, config, privateKey, passphrase);

  async function lookup(guid: string): Promise<ImageIds | undefined> {
    return node.withSession((s, sftp) => lookupWith(node, s, sftp, guid));
  }

  async function register(req: RegisterRequest): Promise<ImageIds> {
    let form: InputForm;
    try {
      form = await detectInputForm(req.parts);
    } catch (err) {
      if (err instanceof InputFormError) throw node.fail(ErrorType.BadArchive, err.message, true);
      throw err;
    }
    // A bundle whose manifest points outside the install root is refused before anything runs.
    if (form.form === 'bundle') {
      const outside = pathsOutside(form.manifest, node.root);
      if (outside.length > 0) {
        throw node.fail(ErrorType.SiteRejected, `imgexport bundle refused: its manifest points outside the install root ${node.root}: ${outside.join(', ')}`, true);
      }
    }
    // Remote hashing and imgimport of a large image print nothing for a while: keep heartbeating.
    const ticker = setInterval(() => req.onProgress?.('working on the management node'), 10_000);
    const ids = await node
      .withSession(async (s, sftp) => {
        const existing = await lookupWith(node, s, sftp, req.guid);
        if (existing) return existing;
        return form.form === 'netboot' ? registerNetboot(node, s, sftp, req, form) : registerImgexport(node, s, sftp, req, form.bundle, form.manifest);
      })
      .finally(() => clearInterval(ticker));
    if (config.provisionNodes.length > 0) {
      const answers = await provisionOsimage(node, req.guid, config.provisionNodes);
      req.onProgress?.(`nodeset: ${Object.entries(answers).map(([n, a]) => `${n} ${a.ok ? 'ok' : 'failed'}: ${a.detail}`).join('; ')}`);
    }
    return ids;
  }

  return {
    type: XCAT_SITE_TYPE,
    site,
    lookup,
    register,
    deregister: (guid) => deregisterOsimage(node, guid),
    provision: (guid, nodes) => provisionOsimage(node, guid, nodes),
    listImages: () => listOsimages(node),
    markRequested: (guid, at) => markOsimageRequested(node, guid, at),
    inUse: (guid) => osimageInUse(node, guid),
  };
}

/** The ids of a complete image of `guid` whose osimage and files are all still there. */
async function lookupWith(node: ManagementNode, s: SshSession, sftp: SFTPWrapper, guid: string): Promise<ImageIds | undefined> {
  const record = await readRecord(sftp, stateDirsOf(node.root, guid).record);
  if (!record || record.state !== 'complete') return undefined;
  if ((await node.lsdef(s, record.osimage)).kind !== 'exists') return undefined;
  for (const f of record.files) {
    const size = await remoteSize(sftp, f.path);
    if (size === undefined || (f.size !== undefined && size !== f.size)) return undefined; // changed behind our back
  }
  return record.ids;
}
