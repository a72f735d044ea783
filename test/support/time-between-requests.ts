import { setTimeout as sleep } from 'node:timers/promises';

/**
 * An ISO time that lies after every request made before the call and before every request made
 * after it returns, with a little over a second on each side (moto keeps creation dates in whole
 * seconds). A clean-up test gives it as `notRequestedSince`, an absolute cutoff, so a slow machine
 * (a CLI that takes seconds to start) cannot age the later requests past it.
 */
export async function timeBetweenRequests(): Promise<string> {
  await sleep(1_100);
  const at = new Date().toISOString();
  await sleep(1_100);
  return at;
}
