import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { ServiceContext } from '../../platform/context.js';

export const eventTypeRoutes: FastifyPluginAsyncTypebox<{ ctx: ServiceContext }> = async () => {};
