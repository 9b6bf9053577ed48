/**
 * The few lines `serve` prints once it listens, for the person who just typed `npm start`: where
 * each page is, where the API reference is, where mail goes. Logs follow it.
 */
export interface BannerInfo {
  /** What people open (PUBLIC_URL, or http://localhost:PORT). */
  publicUrl: string;
  /** The address the server listens on, as Fastify reports it. */
  listening: string;
  database: string;
  devMailbox: boolean;
}

/** The banner text (no colours: it must read the same in a log file). */
export function startBanner(b: BannerInfo): string {
  const u = b.publicUrl.replace(/\/+$/, '');
  const rows: [string, string][] = [
    ['Home', `${u}/`],
    ['Organizer console', `${u}/admin`],
    ['Member accounts', `${u}/accounts`],
    ['Auto-reply assistant', `${u}/assistant`],
    ['API reference', `${u}/docs`],
  ];
  if (b.devMailbox) rows.push(['Dev mailbox', `${u}/dev/mail`]);
  const width = Math.max(...rows.map(([k]) => k.length));
  const lines = [
    '',
    `  volunteer-hub is ready at ${u}/   (listening on ${b.listening})`,
    '',
    ...rows.map(([k, v]) => `    ${k.padEnd(width)}  ${v}`),
    '',
    `  Database: ${b.database}.  Mail: ${b.devMailbox ? 'kept in the dev mailbox (no SMTP_URL set), nothing leaves this machine' : 'sent through SMTP_URL'}.`,
    '  Press Ctrl+C to stop.',
    '',
  ];
  return `${lines.join('\n')}\n`;
}
