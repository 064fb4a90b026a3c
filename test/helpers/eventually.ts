/**
 * Polls `probe` until it returns a value `accept` takes (default: truthy), or `ms` pass.
 * For state the server settles after it answers (a delivery recorded after the receiver's
 * response, a temp file removed after the socket closes): waiting on the trigger alone races.
 */
export async function eventually<T>(probe: () => T | Promise<T>, opts: { ms?: number; every?: number; accept?: (v: T) => boolean } = {}): Promise<T> {
  const { ms = 5000, every = 25, accept = (v: T) => Boolean(v) } = opts;
  const end = Date.now() + ms;
  let last = await probe();
  while (!accept(last) && Date.now() < end) {
    await new Promise((r) => setTimeout(r, every));
    last = await probe();
  }
  return last;
}
