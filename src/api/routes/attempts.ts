import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { ServiceContext } from '../../platform/context.js';

export const attemptRoutes: FastifyPluginAsyncTypebox<{ ctx: ServiceContext }> = async () => {};
