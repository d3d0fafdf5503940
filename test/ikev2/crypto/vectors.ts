/** Loading of the JSON known-answer files in test/vectors/ (data only; see their "source"). */
import { readFileSync } from 'node:fs';

export function loadVectors<T>(file: string): T & { source: string } {
  return JSON.parse(readFileSync(new URL(`../../vectors/${file}`, import.meta.url), 'utf8')) as T & { source: string };
}

export const hex = (s: string): Buffer => Buffer.from(s, 'hex');

/** Wycheproof AEAD / MAC test case fields used here. */
export interface WycheproofCase {
  tcId: number;
  comment: string;
  key: string;
  iv?: string;
  aad?: string;
  msg: string;
  ct?: string;
  tag: string;
  result: 'valid' | 'invalid' | 'acceptable';
}

export interface WycheproofFile {
  algorithm: string;
  testGroups: { keySize: number; ivSize?: number; tagSize: number; tests: WycheproofCase[] }[];
}
