import t from 'tap';
import { booleanWord, escapeHtml, instantText, singleLine } from '../../src/text.js';

t.test('singleLine: nothing that ends a line survives', async (t) => {
  t.equal(singleLine(' a\r\nb\tc\u2028d\u0000e  f '), 'a b c d e f');
  t.equal(singleLine('Cafe\u0301'), 'Cafe\u0301', 'no Unicode normalisation here (the registration input does that)');
});

t.test('booleanWord: the yes and no words, any case; anything else is neither', async (t) => {
  for (const word of ['true', 'ON', 'Yes', '1']) t.equal(booleanWord(word), true, word);
  for (const word of ['false', 'off', 'NO', '0']) t.equal(booleanWord(word), false, word);
  for (const word of ['', 'y', 'checked', ' true']) t.equal(booleanWord(word), undefined, JSON.stringify(word));
});

t.test('escapeHtml and instantText', async (t) => {
  t.equal(escapeHtml(`<a href="x">'&'</a>`), '&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
  t.equal(instantText(new Date('2026-12-03T19:45:00.000Z'), 'America/Chicago'), 'Thursday, December 3, 2026, 1:45 PM CST (America/Chicago)');
});
