/**
 * The HTML frame of every e-mail, written in MJML (responsive, tested across mail clients) and
 * compiled ONCE per variant into a template with named slots: a reminder to 10,000 people fills
 * the same compiled HTML 10,000 times instead of running MJML's compiler (tens of ms) for each.
 * mjml is imported on first use, so processes that never render an e-mail (the API) never load it.
 */

/** The values of one e-mail, each already HTML (the caller escapes what people typed). */
export interface LayoutSlots {
  title: string;
  preview: string;
  header: string;
  heading: string;
  body: string;
  buttonHref: string;
  buttonLabel: string;
  after: string;
  footer: string;
  /** `#rrggbb`: the button, the rule under the header and the links. */
  accent: string;
}

type SlotName = keyof LayoutSlots;

/**
 * MJML checks colours when it compiles, so the accent is compiled as this unlikely colour and
 * each occurrence of it becomes the accent slot.
 */
const ACCENT_STAND_IN = '#a1b2c3';

const FONT = "-apple-system, BlinkMacSystemFont, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif";

function layoutSource(withButton: boolean): string {
  const button = withButton
    ? `<mj-button href="%%buttonHref%%" background-color="${ACCENT_STAND_IN}" color="#ffffff" font-size="16px" font-weight="600"
          border-radius="6px" inner-padding="14px 24px" padding="8px 24px 16px" align="left">%%buttonLabel%%</mj-button>`
    : '';
  return `<mjml lang="en">
  <mj-head>
    <mj-title>%%title%%</mj-title>
    <mj-preview>%%preview%%</mj-preview>
    <mj-attributes>
      <mj-all font-family="${FONT}" />
      <mj-text font-size="16px" line-height="1.5" color="#1b1b1b" padding="0 24px" />
    </mj-attributes>
  </mj-head>
  <mj-body background-color="#f2f3f5" width="600px">
    <mj-section padding="24px 0 12px">
      <mj-column>
        <mj-text font-size="18px" font-weight="700">%%header%%</mj-text>
      </mj-column>
    </mj-section>
    <mj-section background-color="#ffffff" border-top="4px solid ${ACCENT_STAND_IN}" padding="24px 0 16px">
      <mj-column>
        <mj-text font-size="24px" line-height="1.3" font-weight="700" padding="0 24px 8px">%%heading%%</mj-text>
        <mj-text>%%body%%</mj-text>
        ${button}
        <mj-text>%%after%%</mj-text>
      </mj-column>
    </mj-section>
    <mj-section padding="16px 0 32px">
      <mj-column>
        <mj-text font-size="13px" line-height="1.5" color="#4a4f55">%%footer%%</mj-text>
      </mj-column>
    </mj-section>
  </mj-body>
</mjml>`;
}

/** A compiled layout: literal HTML between slots. */
interface CompiledLayout {
  pieces: Array<string | { slot: SlotName }>;
}

const SLOT = new RegExp(`%%([A-Za-z]+)%%|${ACCENT_STAND_IN}`, 'gi');

async function compile(withButton: boolean): Promise<CompiledLayout> {
  const { default: mjml2html } = await import('mjml');
  // fonts {}: MJML otherwise links Google Fonts for "Roboto" in the stack, a third-party request from every opened e-mail.
  const { html, errors } = await mjml2html(layoutSource(withButton), { validationLevel: 'strict', keepComments: false, fonts: {} });
  if (errors.length > 0) throw new Error(`the e-mail layout does not compile: ${errors.map((e) => e.formattedMessage).join('; ')}`);
  const pieces: CompiledLayout['pieces'] = [];
  let last = 0;
  const seen = new Set<string>();
  for (const match of html.matchAll(SLOT)) {
    pieces.push(html.slice(last, match.index));
    const slot = (match[1] ?? 'accent') as SlotName;
    seen.add(slot);
    pieces.push({ slot });
    last = match.index + match[0].length;
  }
  pieces.push(html.slice(last));
  const expected: SlotName[] = ['title', 'preview', 'header', 'heading', 'body', 'after', 'footer', 'accent'];
  if (withButton) expected.push('buttonHref', 'buttonLabel');
  const missing = expected.filter((slot) => !seen.has(slot));
  if (missing.length > 0) throw new Error(`the compiled e-mail layout lost its slots: ${missing.join(', ')}`);
  return { pieces };
}

const layouts = new Map<boolean, Promise<CompiledLayout>>();

function layout(withButton: boolean): Promise<CompiledLayout> {
  let compiled = layouts.get(withButton);
  if (!compiled) {
    compiled = compile(withButton);
    // A failed compile is not remembered: the next e-mail tries again (and reports it again).
    compiled.catch(() => layouts.delete(withButton));
    layouts.set(withButton, compiled);
  }
  return compiled;
}

/** The whole HTML document of one e-mail; without a button label the layout has no button. */
export async function fillLayout(slots: LayoutSlots): Promise<string> {
  const { pieces } = await layout(slots.buttonLabel !== '');
  let html = '';
  for (const piece of pieces) html += typeof piece === 'string' ? piece : slots[piece.slot];
  return html;
}
