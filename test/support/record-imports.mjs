// Loaded with `node --import`: prints every module URL the process resolves to stderr as
// `imported: URL`, so a test can tell what a command loaded.
import { register } from 'node:module';

register(
  'data:text/javascript,' +
    encodeURIComponent(`
      export async function resolve(specifier, context, next) {
        const resolved = await next(specifier, context);
        process.stderr.write('imported: ' + resolved.url + '\\n');
        return resolved;
      }`),
);
