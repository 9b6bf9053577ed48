/** The home page's words, Chinese and English (plain objects: no i18n library on this page). */
export type Lang = 'zh' | 'en';

const en = {
  title: 'volunteer-hub',
  lead: 'Volunteer certificates by email, member accounts, a WeChat mini-program API and a WeChat auto-reply assistant, on one service.',
  switchTo: '中文',
  pages: 'Pages',
  console: 'Organizer console',
  consoleBody: 'Campaigns, certificate templates, volunteers, sending and progress. Sign in with the organizer (admin) token.',
  accounts: 'Member accounts',
  accountsBody: 'Register, activate by email, sign in, change or recover a password, keep shipping addresses.',
  assistant: 'Auto-reply assistant',
  assistantBody: 'Keyword auto-replies for your WeChat official accounts: rules, switches, a simulator.',
  docs: 'API reference',
  docsBody: 'Every endpoint (the original APIs and /api/v2) with its parameters, answers and errors (OpenAPI).',
  devMail: 'Dev mailbox',
  devMailBody: 'No SMTP server is configured: every message the service would send is kept here instead.',
  claimNote: 'Volunteers do not start here: each one opens the private link in the email the console sends.',
  pageTitle: 'volunteer-hub',
};
type Dict = typeof en;
const zh: Dict = {
  title: 'volunteer-hub',
  lead: '志愿者证书邮件发放、会员账号、微信小程序接口和微信公众号自动回复助手，一个服务全部提供。',
  switchTo: 'English',
  pages: '页面',
  console: '证书管理台',
  consoleBody: '活动、证书模板、志愿者名单、发送与进度。使用主办方（管理员）令牌登录。',
  accounts: '会员账号',
  accountsBody: '注册、邮件激活、登录、修改或找回密码、管理收货地址。',
  assistant: '自动回复助手',
  assistantBody: '为你的微信公众号设置关键词自动回复：规则、开关、模拟器。',
  docs: 'API 文档',
  docsBody: '全部接口（原有接口和 /api/v2）的参数、返回和错误说明（OpenAPI）。',
  devMail: '开发邮箱',
  devMailBody: '未配置 SMTP 服务器：服务要发出的每封邮件都保存在这里。',
  claimNote: '志愿者无需从这里进入：每人打开管理台发送的邮件中的专属链接即可。',
  pageTitle: 'volunteer-hub · 首页',
};

export const messages: Record<Lang, Dict> = { en, zh };
