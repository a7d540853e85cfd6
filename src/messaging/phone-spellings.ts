/**
 * One phone line, two spellings: Brazil added a ninth digit to its mobile numbers (55, area code, 9, eight
 * digits), and WhatsApp still knows many of those lines by their older eight-digit form — Meta answers a send to
 * the new form with the old one as the wa_id, and the customer's replies come from it. Both spellings find the
 * same contact. Only mobiles (the eight digits start with 6–9) have the two forms.
 */
export function phoneSpellings(waId: string): string[] {
  const m = /^55(\d{2})(9?)([6-9]\d{7})$/.exec(waId)
  if (!m) return [waId]
  const [, area, ninth, line] = m
  return [waId, ninth ? `55${area}${line}` : `55${area}9${line}`]
}
