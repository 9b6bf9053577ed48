/** How profiles look in answers: the seed's fields, times as 'YYYY-MM-DD HH:MM:SS' in the configured zone. */
import type { ProfileRow } from './repo.js';

export interface ProfileView {
  id: number;
  openid: string;
  phone: string;
  qq: string;
  cardno: string;
  wxid: string;
  created_at: string;
  modified_at: string;
}

/** A formatter of millisecond times in `timeZone` (Intl is costly to build: build once). */
export function createTimeFormatter(timeZone: string): (ms: number) => string {
  // sv-SE writes ISO-like "2020-03-26 11:34:29".
  const f = new Intl.DateTimeFormat('sv-SE', {
    timeZone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    hourCycle: 'h23',
  });
  return (ms) => f.format(new Date(ms));
}

export function presentProfile(p: ProfileRow, fmt: (ms: number) => string): ProfileView {
  return {
    id: Number(p.id),
    openid: p.openid,
    phone: p.phone,
    qq: p.qq,
    cardno: p.cardno,
    wxid: p.wxid,
    created_at: fmt(Number(p.created_at)),
    modified_at: fmt(Number(p.modified_at)),
  };
}
