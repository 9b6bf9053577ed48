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

export function createServices(core: Core) {
  const campaigns = createCampaignsRepo(core.db);
  const recipients = createRecipientsRepo(core.handle);
  const deps: CertDeps = {
    db: core.db,
    campaigns,
    recipients,
    renderer: createRenderer({ campaigns, timeZone: core.config.timeZone }),
    jobs: core.jobs,
    mailer: core.mailer,
    secrets: core.secrets,
    config: core.config,
    logger: core.logger,
    now: core.now,
  };
  const campaign = createCampaignService(deps);
  return {
    deps,
    campaign,
    recipients: createRecipientsService(deps),
    sending: createSending(deps, campaign),
    claims: createClaims(deps, campaign),
  };
}

export type Services = ReturnType<typeof createServices>;
