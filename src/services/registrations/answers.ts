import type { Answers, Question } from '../../../db/schema/index.js';
import type { FieldError } from '../../errors.js';
import { booleanWord, singleLine } from '../../text.js';

export const TEXT_ANSWER_MAX = 500;
export const TEXTAREA_ANSWER_MAX = 5000;

/** Text as people meant it: one Unicode form (NFC), and control characters become spaces. */
export function typedLine(value: string): string {
  return singleLine(value.normalize('NFC'));
}

function typedText(value: string): string {
  return value
    .normalize('NFC')
    .replace(/\r\n?/g, '\n')
    .replace(/[\u0000-\u0009\u000b-\u001f\u007f]+/g, ' ')
    .trim();
}

/** A checkbox as the JSON API (a boolean) or a form (a word; an empty field is unticked) sends it. */
function checkboxValue(value: unknown): boolean | undefined | 'invalid' {
  if (value === undefined || typeof value === 'boolean') return value;
  if (typeof value !== 'string') return 'invalid';
  return value === '' ? false : (booleanWord(value) ?? 'invalid');
}

/**
 * Checks answers against the session's questions, adding every problem to `errors`; returns
 * the answers to store (normalised text, checkboxes as booleans).
 */
export function validateAnswers(questions: Question[], raw: Record<string, string | boolean>, errors: FieldError[]): Answers {
  const answers: Answers = {};
  const known = new Set(questions.map((question) => question.id));
  for (const key of Object.keys(raw)) {
    if (!known.has(key)) errors.push({ path: `/answers/${key}`, message: 'is not a question of this session' });
  }
  for (const question of questions) {
    const path = `/answers/${question.id}`;
    const value = raw[question.id];
    if (question.type === 'checkbox') {
      const checked = checkboxValue(value);
      if (checked === 'invalid') errors.push({ path, message: 'must be true or false' });
      if (question.required && checked !== true) errors.push({ path, message: 'must be checked' });
      if (typeof checked === 'boolean') answers[question.id] = checked;
      continue;
    }
    if (value !== undefined && typeof value !== 'string') {
      errors.push({ path, message: 'must be text' });
      continue;
    }
    const text = value === undefined ? '' : question.type === 'textarea' ? typedText(value) : typedLine(value);
    if (text === '') {
      if (question.required) errors.push({ path, message: 'is required' });
      continue;
    }
    const max = question.type === 'textarea' ? TEXTAREA_ANSWER_MAX : TEXT_ANSWER_MAX;
    if (text.length > max) errors.push({ path, message: `must be at most ${max} characters` });
    else if (question.type === 'select' && !question.options.includes(text)) {
      errors.push({ path, message: `must be one of: ${question.options.join(', ')}` });
    } else answers[question.id] = text;
  }
  return answers;
}
