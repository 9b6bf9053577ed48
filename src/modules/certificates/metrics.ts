/** Prometheus counters of the certificates module (served at /metrics with the platform's). */
import { Counter } from 'prom-client';
import { metricsRegistry } from '../../platform/http/ops.js';

function counter(name: string, help: string, labelNames: string[] = []): Counter<string> {
  // Several apps in one process (tests) share the registry: reuse a counter once registered.
  return (
    (metricsRegistry.getSingleMetric(name) as Counter<string> | undefined) ??
    new Counter({ name, help, labelNames, registers: [metricsRegistry] })
  );
}

export const certMetrics = {
  noticesSent: counter('certificates_notices_sent_total', 'Notices accepted by the SMTP server'),
  noticeFailures: counter('certificates_notice_failures_total', 'Notices that failed, by kind (temporary, permanent)', ['kind']),
  claims: counter('certificates_claims_total', 'Names submitted (status 2)'),
  delivered: counter('certificates_delivered_total', 'Certificates accepted by the SMTP server (status 4)'),
  previewsRendered: counter('certificates_previews_rendered_total', 'Scaled-down previews rendered (claim page, credential page picture)'),
  previewCacheHits: counter('certificates_preview_cache_hits_total', 'Previews answered from the cache of rendered previews'),
};
