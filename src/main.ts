import { startSwitchboard } from './app.js';
import { ConfigFileError } from './declarative/config-file.js';
import { ConfigError, loadConfig } from './platform/config.js';

/** `npm start`: one process, configured from the environment, stopped by SIGTERM/SIGINT. */
async function main(): Promise<void> {
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(`switchboard: ${error.message}`);
      process.exit(2);
    }
    throw error;
  }
  let switchboard: Awaited<ReturnType<typeof startSwitchboard>>;
  try {
    switchboard = await startSwitchboard(config);
  } catch (error) {
    // A bad SWITCHBOARD_CONFIG file is the operator's to fix: say what is wrong, no stack.
    if (error instanceof ConfigFileError) {
      console.error(`switchboard: ${error.message}`);
      process.exit(2);
    }
    throw error;
  }
  if (switchboard.createdAdminToken) {
    // Printed once, on stdout and not through the logger, so it never lands in log storage.
    process.stdout.write(
      `\nSwitchboard created an admin API key. It is shown only this once; store it now:\n\n  ${switchboard.createdAdminToken}\n\nUse it as "Authorization: Bearer <key>". Set SWITCHBOARD_ADMIN_TOKEN to choose your own.\n\n`,
    );
  }
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    switchboard.http.log.info({ signal }, 'shutting down');
    const force = setTimeout(() => process.exit(1), 30_000);
    force.unref();
    switchboard.close().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(error);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((error: unknown) => {
  console.error('switchboard failed to start:', error);
  process.exit(1);
});
