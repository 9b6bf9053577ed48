/** answerBody: the passive reply's bytes, whichever form (text or bytes) it is built in. */
import { describe, expect, it } from 'vitest';
import { answerBody, storedAnswerJson, textReplies } from './webhook-common.js';
import { imageReplyXml, textReplyXml } from '../../platform/wechat/xml.js';
import { openReply } from '../../platform/wechat/callback.js';
import type { Reply } from './replies.js';

const acc = { appid: 'wx1234567890abcdef', token: 'tok-en', aesKey: 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG' };
const bytes = (b: string | Buffer) => (typeof b === 'string' ? Buffer.from(b) : b);

describe('answerBody', () => {
  it("answers a text reply with textReplyXml's bytes, the same reply object reused for other followers and times", () => {
    const texts = ['回复 3：感谢您的留言。', 'a ]]> b', 'emoji 😀 and \u0001 control', 'lone \ud800 surrogate', 'plain', ']]>]]>'];
    for (const text of texts) {
      const reply: Reply = { type: 'text', text };
      for (const [to, from, t] of [
        ['oFollower1', 'gh_1', 1_800_000_000],
        ['o]]>x', 'gh_2', 1_800_000_001],
        ['o用户', 'gh_3', 1_800_000_002.7],
      ] as const) {
        const a = answerBody(acc, { FromUserName: to, ToUserName: from }, { t, replies: [reply] }, false, 0);
        expect(a.status).toBe(200);
        expect(a.contentType).toBe('application/xml');
        expect(bytes(a.body).equals(Buffer.from(textReplyXml(to, from, text, t)))).toBe(true);
      }
    }
  });
  it('keeps the other forms: success, image, a text reply in safe mode', () => {
    expect(answerBody(acc, {}, { t: 1, replies: [] }, false, 0).body).toBe('success');
    const img = answerBody(acc, { FromUserName: 'o1', ToUserName: 'gh' }, { t: 5, replies: [{ type: 'image', mediaId: 'M1' }] }, false, 0);
    expect(img.body).toBe(imageReplyXml('o1', 'gh', 'M1', 5));
    const safe = answerBody(acc, { FromUserName: 'o1', ToUserName: 'gh' }, { t: 5, texts: ['你好'] }, true, 1_800_000_000_000);
    expect(openReply(acc, String(safe.body))).toMatchObject({ ToUserName: 'o1', FromUserName: 'gh', Content: '你好', CreateTime: '5' });
  });
});

describe('storedAnswerJson', () => {
  it("is JSON.stringify's text of the answer, the replies' part reused for the same replies array", () => {
    const replies: Reply[][] = [
      textReplies(['回复 3：感谢您的留言。']),
      textReplies(['a ]]> b "quoted" \\ back', 'emoji 😀 \u0001', 'lone \ud800 surrogate']),
      [{ type: 'image', mediaId: 'M1' }],
      [{ type: 'news', title: 't', description: 'd', url: 'https://x.test/a?b=1&c=2', picUrl: 'https://x.test/p.jpg' }],
      [],
    ];
    for (const r of replies) {
      for (const t of [1_800_000_000, 1_800_000_001, 0]) {
        const json = storedAnswerJson({ t, replies: r });
        expect(json).toBe(JSON.stringify({ t, replies: r }));
        expect(JSON.parse(json)).toEqual({ t, replies: r });
      }
    }
  });
});
