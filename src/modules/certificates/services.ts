/** Builds the module's services from the core (used by the routes, the CLI and the tests). */
import type { Core } from '../../platform/core.js';
import { createCampaignsRepo } from './campaigns-repo.js';
import { createCampaignService } from './campaign-service.js';
import { createClaims } from './claims.js';
import type { CertDeps } from './deps.js';
import { createRecipientsRepo } from './recipients-repo.js';
import { createRecipientsService } from './recipients-service.js';
import { createRenderer } from './rendering.js';
import { createSending } from './sending.js';
import { createIssuedRepo } from './credentials/repo.js';
import { createKeyRing } from './credentials/keys.js';
import { createCredentials } from './credentials/service.js';
import { DELIVER_KIND } from './claims.js';
import { createDeliverability } from './deliverability/service.js';
import { createBounces } from './deliverability/bounces.js';
import { sqliteFast } from '../../platform/db/sqlite-fast.js';

export function createServices(core: Core) {
  const campaigns = createCampaignsRepo(core.db);
  const recipients = createRecipientsRepo(core.handle);
  const deps: CertDeps = {
    db: core.db,
    campaigns,
    recipients,
    issued: createIssuedRepo(core.db),
    renderer: createRenderer({ campaigns, timeZone: core.config.timeZone, now: core.now }),
    jobs: core.jobs,
    mailer: core.mailer,
    secrets: core.secrets,
    config: core.config,
    logger: core.logger,
    now: core.now,
    fast: sqliteFast(core.handle),
  };
  const campaign = createCampaignService(deps);
  const deliverability = createDeliverability(deps);
  // Every mail the service sends from a domain with a key is signed with it, member mail too.
  core.mailer.useDkimKeys?.(deliverability.dkimFor);
  const keys = createKeyRing({ db: core.db, secrets: core.secrets, now: core.now });
  const credentials = createCredentials({ ...deps, keys, deliverKind: DELIVER_KIND });
  const sending = createSending(deps, campaign, deliverability);
  return {
    deps,
    bounces: createBounces(deps, campaign, deliverability, sending),
    campaign,
    keys,
    credentials,
    recipients: createRecipientsService(deps),
    deliverability,
    sending,
    claims: createClaims(deps, campaign, credentials, deliverability),
  };
}

export type Services = ReturnType<typeof createServices>;
