/** SIGTERM/SIGINT stop gracefully (at most 10 s); a second signal exits at once. */
export function onSignals(stop: () => Promise<void>): void {
  let stopping = false;
  const handler = (): void => {
    if (stopping) process.exit(130);
    stopping = true;
    const hard = setTimeout(() => process.exit(1), 10_000);
    hard.unref();
    stop().then(() => process.exit(0), () => process.exit(1));
  };
  process.on('SIGTERM', handler);
  process.on('SIGINT', handler);
}
