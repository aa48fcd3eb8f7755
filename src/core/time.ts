/** RFC 3339 in UTC with a `Z`, as the Svix SDK expects (it parses offset-less times as local). */
export function toIso(ms: number): string {
  return new Date(ms).toISOString();
}

export function toIsoOrNull(ms: number | null | undefined): string | null {
  return ms === null || ms === undefined ? null : toIso(ms);
}

export type Clock = () => number;
export const systemClock: Clock = () => Date.now();
