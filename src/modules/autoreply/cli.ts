/**
 * Operator commands: `autoreply simulate` sends a signed (and, in safe mode, encrypted) message
 * to a callback over HTTP and prints the reply, for a connected account (`--account <id>`, its
 * settings read from the database) or any account given by hand (`--url --appid --token`).
 */
import type { Command } from 'commander';
import type { Core } from '../../platform/core.js';
import { simulate, type Transport } from './simulator.js';
import { createWechatRepo } from './wechat-repo.js';

function httpTransport(url: string): Transport {
  return async (query, body) => {
    const u = new URL(url);
    for (const [k, v] of Object.entries(query)) u.searchParams.set(k, v);
    const res = await fetch(u, { method: 'POST', headers: { 'content-type': 'text/xml' }, body, signal: AbortSignal.timeout(10_000) });
    return { status: res.status, body: await res.text() };
  };
}

export function registerAutoreplyCli(program: Command, core: () => Promise<Core>): void {
  const ar = program.command('autoreply').description('WeChat keyword auto-reply (seed 002)');
  ar.command('simulate')
    .description('send a signed test message to an account callback and print the reply')
    .option('--account <id>', 'a connected account id (settings from the database)')
    .option('--url <url>', 'callback URL (default: PUBLIC_URL + the account callback path)')
    .option('--appid <appid>', 'appid, when not using --account')
    .option('--token <token>', 'callback token, when not using --account')
    .option('--aes-key <key>', 'EncodingAESKey, for safe mode, when not using --account')
    .option('--text <text>', 'the message text')
    .option('--event <event>', 'subscribe | unsubscribe instead of a text')
    .option('--plain', 'send in plain mode even if an EncodingAESKey is known')
    .option('--json', 'print the whole result as JSON')
    .action(
      async (o: {
        account?: string;
        url?: string;
        appid?: string;
        token?: string;
        aesKey?: string;
        text?: string;
        event?: string;
        plain?: boolean;
        json?: boolean;
      }) => {
        if (!o.text === !o.event) throw new Error('give either --text or --event');
        if (o.event && o.event !== 'subscribe' && o.event !== 'unsubscribe') throw new Error('--event is subscribe or unsubscribe');
        let acc: { appid: string; token: string; aesKey: string | null };
        let url = o.url;
        if (o.account) {
          const c = await core();
          const row = await createWechatRepo(c.db).accountById(Number(o.account));
          if (!row) throw new Error(`no account ${o.account}`);
          acc = {
            appid: row.appid,
            token: c.secrets.open(row.token_sealed),
            aesKey: row.aes_key_sealed ? c.secrets.open(row.aes_key_sealed) : null,
          };
          url ??= `${c.config.publicUrl}/wechat/callback/${row.callback_id}`;
        } else {
          if (!o.url || !o.appid || !o.token) throw new Error('give --account, or --url, --appid and --token');
          acc = { appid: o.appid, token: o.token, aesKey: o.aesKey ?? null };
        }
        const r = await simulate(
          acc,
          { text: o.text, event: o.event as 'subscribe' | undefined, encrypt: o.plain ? false : undefined },
          httpTransport(url!),
          Date.now,
        );
        if (o.json) process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
        else
          process.stdout.write(
            `HTTP ${r.status} in ${r.elapsedMs} ms (${r.encrypted ? 'safe mode' : 'plain'})\n${r.reply === null ? `(no reply: ${r.raw.slice(0, 200)})` : `reply: ${r.reply}`}\n`,
          );
      },
    );
}
