import { adobeSign } from './adobe-sign.js';
import { airwallex } from './airwallex.js';
import { checkbook } from './checkbook.js';
import { cron } from './cron.js';
import { docusign } from './docusign.js';
import { easypost } from './easypost.js';
import { genericWebhook } from './generic-webhook.js';
import { github } from './github.js';
import { hubspot } from './hubspot.js';
import { merge } from './merge.js';
import { meta } from './meta.js';
import { nango } from './nango.js';
import { openclaw } from './openclaw.js';
import { orumIo } from './orum-io.js';
import { pandaDoc } from './panda-doc.js';
import { portIo } from './port-io.js';
import { rutter } from './rutter.js';
import { segment } from './segment.js';
import { shopify } from './shopify.js';
import { slack } from './slack.js';
import { stripe } from './stripe.js';
import { svixFamilyProviders } from './svix-family.js';
import { tailscale } from './tailscale.js';
import { telnyx } from './telnyx.js';
import type { Provider } from './types.js';
import { vapi } from './vapi.js';
import { veriff } from './veriff.js';
import { vgs } from './vgs.js';
import { zoom } from './zoom.js';

/**
 * One provider per source `type` the Svix SDK (2.5.0) knows for Ingest: 44 strings, of which
 * 17 share the Standard Webhooks implementation (`svix-family.ts`).
 */
export const svixSdkProviders: Provider[] = [
  genericWebhook,
  cron,
  adobeSign,
  ...svixFamilyProviders,
  checkbook,
  docusign,
  easypost,
  github,
  hubspot,
  merge,
  meta,
  nango,
  openclaw,
  orumIo,
  pandaDoc,
  portIo,
  rutter,
  segment,
  shopify,
  slack,
  stripe,
  tailscale,
  telnyx,
  vapi,
  veriff,
  airwallex,
  vgs,
  zoom,
];
