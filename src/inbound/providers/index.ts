import { extraProviders } from './extra-types.js';
import { svixSdkProviders } from './svix-types.js';
import type { Provider } from './types.js';

/** Every provider type, by its wire `type` string. */
export const providers: ReadonlyMap<string, Provider> = new Map(
  [...svixSdkProviders, ...extraProviders].map((provider) => [provider.type, provider as Provider]),
);

export function findProvider(type: string): Provider | undefined {
  return providers.get(type);
}
