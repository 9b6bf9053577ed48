/**
 * A real IMAP server for tests: Debian's Dovecot started in the foreground with a configuration
 * of its own (own base_dir, passwd-file users, plaintext auth on 127.0.0.1 at a free port, Maildir
 * in a temp folder). Mail runs as an unprivileged user: `dovecot` when we are root (Dovecot
 * refuses mail access as uid 0), else the current user.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { freePort } from './free-port.js';

export const DOVECOT = '/usr/sbin/dovecot';

export interface TestImapServer {
  port: number;
  user: string;
  pass: string;
  /** `imap://user:pass@127.0.0.1:port/INBOX` */
  url: string;
  close(): Promise<void>;
}

function idOf(name: string): { uid: number; gid: number } | undefined {
  try {
    return {
      uid: Number(execFileSync('id', ['-u', name]).toString().trim()),
      gid: Number(execFileSync('id', ['-g', name]).toString().trim()),
    };
  } catch {
    return undefined;
  }
}

async function waitForPort(port: number, proc: ChildProcess, log: string, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    if (proc.exitCode !== null)
      throw new Error(`dovecot exited (${proc.exitCode}): ${existsSync(log) ? readFileSync(log, 'utf8').slice(-2000) : ''}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1');
      s.once('data', (d) => {
        s.destroy();
        resolve(d.toString().startsWith('* OK'));
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > end)
      throw new Error(`dovecot did not answer on ${port}: ${existsSync(log) ? readFileSync(log, 'utf8').slice(-2000) : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function startDovecot(): Promise<TestImapServer> {
  const dir = mkdtempSync(join(tmpdir(), 'vh-dovecot-'));
  chmodSync(dir, 0o755);
  const port = await freePort();
  const me = userInfo();
  const mailUser = me.uid === 0 ? (idOf('dovecot') ?? { uid: 65534, gid: 65534 }) : { uid: me.uid, gid: me.gid };
  const user = 'bounces';
  const pass = 'bounce-pass-' + Math.random().toString(36).slice(2);
  mkdirSync(join(dir, 'mail'), { recursive: true });
  if (me.uid === 0) chownSync(join(dir, 'mail'), mailUser.uid, mailUser.gid);
  writeFileSync(join(dir, 'passwd'), `${user}:{PLAIN}${pass}:${mailUser.uid}:${mailUser.gid}::${join(dir, 'mail', user)}::\n`);
  const log = join(dir, 'dovecot.log');
  const conf = `
base_dir = ${join(dir, 'run')}
state_dir = ${join(dir, 'state')}
log_path = ${log}
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
first_valid_uid = 1
mail_location = maildir:~/Maildir
${me.uid === 0 ? '' : `default_internal_user = ${me.username}\ndefault_login_user = ${me.username}\ndefault_internal_group = ${me.username}\n`}
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u ${join(dir, 'passwd')}
}
userdb {
  driver = passwd-file
  args = username_format=%u ${join(dir, 'passwd')}
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = ${port}
  }
  inet_listener imaps {
    port = 0
  }
}
service anvil {
  chroot =
}
service imap-login {
  chroot =
}
`;
  writeFileSync(join(dir, 'dovecot.conf'), conf);
  const proc = spawn(DOVECOT, ['-F', '-c', join(dir, 'dovecot.conf')], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  proc.stderr?.on('data', (d) => (stderr += d.toString()));
  try {
    await waitForPort(port, proc, log);
  } catch (err) {
    proc.kill('SIGKILL');
    throw new Error(`${(err as Error).message}\n${stderr}`, { cause: err });
  }
  return {
    port,
    user,
    pass,
    url: `imap://${user}:${encodeURIComponent(pass)}@127.0.0.1:${port}/INBOX`,
    async close() {
      if (proc.exitCode === null) {
        const exited = new Promise((r) => proc.once('exit', r));
        proc.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
