import { bitbucket } from './bitbucket.js';
import { calendly } from './calendly.js';
import { discord } from './discord.js';
import { dropbox } from './dropbox.js';
import { genericProviders } from './generic.js';
import { gitlab } from './gitlab.js';
import { gumroad } from './gumroad.js';
import { intercom } from './intercom.js';
import { lemonSqueezy } from './lemon-squeezy.js';
import { linear } from './linear.js';
import { mailgun } from './mailgun.js';
import { moyasar } from './moyasar.js';
import { okta } from './okta.js';
import { paddle } from './paddle.js';
import { postmark } from './postmark.js';
import { razorpay } from './razorpay.js';
import { sendgrid } from './sendgrid.js';
import { square } from './square.js';
import { twilio } from './twilio.js';
import { twitch } from './twitch.js';
import { typeform } from './typeform.js';
import type { Provider } from './types.js';
import { woocommerce } from './woocommerce.js';
import { xero } from './xero.js';

/**
 * Provider types beyond the Svix SDK's list (SPEC §4), and the generic verifier kinds
 * (`generic-hmac`, `generic-timestamped-hmac`, `shared-token`, `basic-auth`, `none`).
 */
export const extraProviders: Provider[] = [
  gumroad,
  twilio,
  paddle,
  lemonSqueezy,
  square,
  linear,
  typeform,
  calendly,
  twitch,
  intercom,
  woocommerce,
  gitlab,
  bitbucket,
  razorpay,
  xero,
  mailgun,
  sendgrid,
  discord,
  moyasar,
  postmark,
  dropbox,
  okta,
  ...genericProviders,
] as Provider[];
