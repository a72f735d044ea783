/** The `imageproxy` executable's entry (bin/imageproxy.js loads it): run the command line, exit with its code. */
import { runCli } from './run-cli.js';

process.exitCode = await runCli(process.argv.slice(2));
