/** `imageproxy setup`: prepare the Temporal namespace for ImageProxy (its search attributes); safe to run again. */
import type { Command } from 'commander';
import { SEARCH_ATTRIBUTE_NAMES } from '../../../common/register-contract.js';
import type { CliContext } from '../cli-context.js';

/** `--json`: the attributes this run created (empty when the namespace had them all). */
export interface SetupJson {
  namespace: string;
  address: string;
  created: string[];
}

export function defineSetupCommand(program: Command, ctx: CliContext): void {
  program
    .command('setup')
    .description('prepare the Temporal namespace for ImageProxy (creates the search attributes; safe to run again)')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }) => {
      const [{ connectClient, temporalSettings }, { ensureSearchAttributes }] = await Promise.all([
        import('../../temporal-connection.js'),
        import('../../../workers/search-attributes.js'),
      ]);
      const settings = temporalSettings({ env: ctx.io.env });
      const { connection } = await connectClient(settings);
      try {
        const created = await ensureSearchAttributes(connection, settings.namespace);
        if (opts.json) ctx.printJson({ namespace: settings.namespace, address: settings.address, created } satisfies SetupJson);
        else {
          ctx.print(
            created.length > 0
              ? `created search attributes ${created.join(', ')} in namespace ${settings.namespace} at ${settings.address}`
              : `namespace ${settings.namespace} at ${settings.address} already has the search attributes ${SEARCH_ATTRIBUTE_NAMES.join(', ')}: nothing changed`,
          );
        }
      } finally {
        await connection.close();
      }
    });
}
