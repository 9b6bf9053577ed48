/**
 * Password strength by zxcvbn-ts (`@zxcvbn-ts/core` with the common and English dictionaries:
 * common passwords, names, words, keyboard patterns, sequences, repeats, dates, l33t), run in a
 * worker thread. Measured (2026-12-02, this 2-core machine under load): a check takes 20-120 ms
 * for ordinary passwords, up to 3 s for a crafted 128-character l33t string with the defaults, and
 * loading the dictionaries 850 ms; on the event loop that would stall every request. So: one
 * worker, started on first use, with the input cut to its first 64 characters and l33t
 * substitutions capped at 8 (what is past that is strong anyway), and at most 64 checks waiting
 * (more answer "busy" at once rather than queue without end).
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/**
 * zxcvbn's score: 0 too guessable ... 4 very unguessable. 2 = at least ~10^8 guesses: what every
 * 8-character password that is not a pattern gets (zxcvbn's brute-force floor), so random
 * 8-character passwords pass (NIST 800-63B's minimum) while everything zxcvbn sees through
 * (words, names, repeats, sequences, keyboard rows, dates, common passwords) is refused. Online,
 * the attempt limits allow a few hundred guesses a day; offline, 10^8 argon2id hashes (~26 ms of
 * CPU each) are about 30 CPU-days per account.
 */
export const MIN_SCORE = 2;
const MAX_WAITING = 64;
const CHECK_TIMEOUT_MS = 20_000;

export interface Strength {
  score: number;
  /** zxcvbn's warning (English), or '' when it has none. */
  warning: string;
  /** zxcvbn's suggestions (English). */
  suggestions: string[];
}

export class StrengthBusyError extends Error {
  constructor() {
    super('the password checker is busy; try again in a moment');
    this.name = 'StrengthBusyError';
  }
}

const req = createRequire(import.meta.url);
// Absolute paths: the worker's own require would resolve from the process's working directory.
const PATHS = {
  core: req.resolve('@zxcvbn-ts/core'),
  common: req.resolve('@zxcvbn-ts/language-common'),
  en: req.resolve('@zxcvbn-ts/language-en'),
};

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { ZxcvbnFactory } = require(workerData.core);
const common = require(workerData.common);
const en = require(workerData.en);
const z = new ZxcvbnFactory({
  translations: en.translations,
  graphs: common.adjacencyGraphs,
  dictionary: { ...common.dictionary, ...en.dictionary },
  maxLength: 64,
  l33tMaxSubstitutions: 8,
});
parentPort.on('message', (m) => {
  try {
    const r = z.check(m.password, m.inputs);
    parentPort.postMessage({ id: m.id, score: r.score, warning: r.feedback.warning || '', suggestions: r.feedback.suggestions || [] });
  } catch (err) {
    parentPort.postMessage({ id: m.id, error: String(err && err.message || err) });
  }
});
`;

let worker: Worker | undefined;
let nextId = 1;
const pending = new Map<number, { resolve: (s: Strength) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();

function failAll(err: Error): void {
  for (const [id, p] of pending) {
    clearTimeout(p.timer);
    p.reject(err);
    pending.delete(id);
  }
}

function ensureWorker(): Worker {
  if (worker) return worker;
  const w = new Worker(WORKER_SOURCE, { eval: true, workerData: PATHS });
  w.unref();
  w.on('message', (m: { id: number; error?: string } & Strength) => {
    const p = pending.get(m.id);
    if (!p) return;
    pending.delete(m.id);
    // Idle, the worker must not keep the process alive; busy, it must (a CLI awaiting an answer).
    if (pending.size === 0) w.unref();
    clearTimeout(p.timer);
    if (m.error) p.reject(new Error(`password strength check failed: ${m.error}`));
    else p.resolve({ score: m.score, warning: m.warning, suggestions: m.suggestions });
  });
  const gone = (err: Error) => {
    if (worker === w) worker = undefined;
    failAll(err);
  };
  w.on('error', gone);
  w.on('exit', (code) => gone(new Error(`the password strength worker stopped (${code})`)));
  worker = w;
  return w;
}

/** zxcvbn's verdict on a password; `inputs` are words of the user's own (username, email) that count as guessable. */
export function passwordStrength(password: string, inputs: string[] = []): Promise<Strength> {
  if (pending.size >= MAX_WAITING) return Promise.reject(new StrengthBusyError());
  const w = ensureWorker();
  const id = nextId++;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      pending.delete(id);
      if (pending.size === 0) w.unref();
      reject(new StrengthBusyError());
    }, CHECK_TIMEOUT_MS);
    timer.unref();
    pending.set(id, { resolve, reject, timer });
    w.ref();
    w.postMessage({ id, password, inputs: inputs.filter(Boolean) });
  });
}
