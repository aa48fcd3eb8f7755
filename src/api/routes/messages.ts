import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { ServiceContext } from '../../platform/context.js';

export const messageRoutes: FastifyPluginAsyncTypebox<{ ctx: ServiceContext }> = async () => {};
